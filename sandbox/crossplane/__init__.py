"""A simulated Crossplane: provider controllers, ProviderConfig accounting, the composite reconciler and the
blueprint's failover function, running inside the sandbox process against its store.

Behaviour follows docs/crossplane.md (exact reasons and messages); where this code chose something the source left
open, the module says so.
"""
