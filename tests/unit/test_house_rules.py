"""The harness reaches clusters only through the Kubernetes API and DNS: it never imports the sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

HARNESS_PACKAGES = ("actions", "probes", "steps", "harness")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


@pytest.mark.parametrize("package", HARNESS_PACKAGES)
def test_no_sandbox_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offenders = {str(f.relative_to(ROOT)): sorted(m for m in imported_modules(f) if m.split(".")[0] == "sandbox")
                 for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import os\nfrom sandbox.api import Api\nimportlib.import_module('sandbox.cluster')\n")
    assert {"sandbox.api", "sandbox.cluster"} <= imported_modules(sample)
