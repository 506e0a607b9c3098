"""actions: see docs/architecture.md. Reaches clusters only through the Kubernetes API and DNS.

The fault actions are plain Chaos Toolkit python activities (JSON-able arguments, ``configuration`` and
``secrets`` last), each with its rollback:

| module | action | rollback |
|---|---|---|
| ``xpchaos.actions.providerconfig`` | ``delete_provider_config`` | ``restore_provider_config`` |
| ``xpchaos.actions.network`` | ``block_provider_api`` | ``unblock_provider_api`` |
| ``xpchaos.actions.credentials`` | ``revoke_credentials`` | ``restore_credentials`` |

Every action writes its undo record (``xpchaos.core.undo_log``) before changing anything; ``xpchaos restore`` replays
what a crashed run left behind.
"""

from __future__ import annotations

from typing import Any

ACTION_MODULES = ("xpchaos.actions.providerconfig", "xpchaos.actions.network", "xpchaos.actions.credentials")


def discover(discover_system: bool = True) -> Any:
    """Chaos Toolkit discovery of the fault actions (as chaostoolkit-kubernetes offers its own)."""
    from chaoslib.discovery.discover import discover_actions, initialize_discovery_result

    from xpchaos import __version__

    discovery = initialize_discovery_result("xpchaos", __version__, "crossplane")
    for module in ACTION_MODULES:
        discovery["activities"].extend(discover_actions(module))
    return discovery
