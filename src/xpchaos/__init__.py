"""What actions, probes and steps share: target config, kube client factory, undo log, runner, gate, CLI.

Reaches clusters only through the Kubernetes API and DNS; never imports ``sandbox``.
"""

__version__ = "0.1.0"
