"""xpchaos: chaos engineering for Crossplane multi-cloud failover, as one import namespace.

Reaches clusters only through the Kubernetes API and DNS; never imports ``xpchaos.sandbox``, which it only ever
starts as a process. The version is written here once (pyproject.toml reads it).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> Any:
    """Chaos Toolkit discovery (``chaos discover --no-install xpchaos``): every action of ``xpchaos.actions`` and
    every probe of ``xpchaos.probes``, as chaostoolkit-kubernetes lists its own. ``discover_system`` is accepted for
    chaoslib's signature; the cluster itself is described by the target file, not discovered."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    from xpchaos.actions import ACTION_MODULES
    from xpchaos.probes import PROBE_MODULES

    discovery = initialize_discovery_result("xpchaos", __version__, "crossplane")
    for module in ACTION_MODULES:
        discovery["activities"].extend(discover_actions(module))
    for module in PROBE_MODULES:
        discovery["activities"].extend(discover_probes(module))
    return discovery
