"""actions: see docs/architecture.md. Reaches clusters only through the Kubernetes API and DNS.

The fault actions are plain Chaos Toolkit python activities (JSON-able arguments, ``configuration`` and
``secrets`` last), each with its rollback:

| module | action | rollback |
|---|---|---|
| ``xpchaos.actions.providerconfig`` | ``delete_provider_config`` | ``restore_provider_config`` |
| ``xpchaos.actions.network`` | ``block_provider_api`` | ``unblock_provider_api`` |
| ``xpchaos.actions.credentials`` | ``revoke_credentials`` | ``restore_credentials`` |
| ``xpchaos.actions.healthcheck`` | ``fail_health_check`` | ``restore_health_check`` |

Every action writes its undo record (``xpchaos.core.undo_log``) before changing anything;
``xpchaos.actions.restore.restore_outstanding`` (and ``xpchaos restore``) replays what a crashed run left behind.
"""

ACTION_MODULES = ("xpchaos.actions.providerconfig", "xpchaos.actions.network", "xpchaos.actions.credentials",
                  "xpchaos.actions.healthcheck", "xpchaos.actions.restore")
"""The modules whose ``__all__`` are Chaos Toolkit actions (``xpchaos.discover`` lists them)."""
