"""steps: see docs/architecture.md. Reaches clusters only through the Kubernetes API and DNS."""
