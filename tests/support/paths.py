"""Where the repository's files are, for tests that read them or run commands from the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
FEATURES = ROOT / "features"
# the upstream CRDs the sandbox installs (byte for byte, see SOURCES.md there) and upstream example manifests
UPSTREAM_CRDS = ROOT / "sandbox" / "crossplane" / "crds"
UPSTREAM_EXAMPLES = Path(__file__).resolve().parent / "upstream"
