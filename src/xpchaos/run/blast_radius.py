"""The blast radius of a fault on a provider, for ``xpchaos plan`` and the game day's stop condition: computed by
``xpchaos.actions.blast_radius`` (below the controls, which record it before each fault)."""

from xpchaos.actions.blast_radius import FAULTS, BlastRadius, Resource, compute, listed_composites

__all__ = ["FAULTS", "BlastRadius", "Resource", "compute", "listed_composites"]
