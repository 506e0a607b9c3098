"""probes: see docs/architecture.md. Reaches clusters only through the Kubernetes API and DNS."""

PROBE_MODULES = ("xpchaos.probes.failover",)
"""The modules whose ``__all__`` are Chaos Toolkit probes (``xpchaos.discover`` lists them)."""
