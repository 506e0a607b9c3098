"""steps: see ARCHITECTURE.md. Reaches clusters only through the Kubernetes API and DNS."""
