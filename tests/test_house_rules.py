"""The harness reaches clusters only through the Kubernetes API and DNS: it never imports the sandbox."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

HARNESS_PACKAGES = ("actions", "probes", "steps", "src/xpchaos")  # everything of xpchaos but the sandbox


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
    offenders = {str(f.relative_to(ROOT)): sorted(m for m in imported_modules(f) if m.startswith("xpchaos.sandbox"))
                 for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import os\nfrom xpchaos.sandbox.api import Api\n"
                      "importlib.import_module('xpchaos.sandbox.cluster')\n")
    assert {"xpchaos.sandbox.api", "xpchaos.sandbox.cluster"} <= imported_modules(sample)


def _calls_with(tree: ast.AST, keyword: str, value: object) -> list[int]:
    """Lines of calls passing ``keyword=value`` as a literal."""
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) for kw in node.keywords
            if kw.arg == keyword and isinstance(kw.value, ast.Constant) and kw.value.value == value]


def _assignments_of(tree: ast.AST, attribute: str, value: object) -> list[int]:
    """Lines of ``x.attribute = value`` with a literal value."""
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and node.value.value == value
            for target in node.targets if isinstance(target, ast.Attribute) and target.attr == attribute]


def _project_files() -> list[Path]:
    packages = (*HARNESS_PACKAGES, "sandbox", "tests", "bench", "features")
    return [*sorted(f for package in packages for f in (ROOT / package).rglob("*.py")), ROOT / "conftest.py"]


def test_no_shell_true_anywhere() -> None:
    found = {str(f.relative_to(ROOT)): lines for f in _project_files()
             if (lines := _calls_with(ast.parse(f.read_text()), "shell", True))}
    assert found == {}, "subprocess with shell=True: pass an argument list instead"


def test_the_harness_never_turns_tls_verification_off() -> None:
    """Against a real cluster the kubeconfig's CA is checked; nothing in the harness switches that off."""
    found = {}
    for package in HARNESS_PACKAGES:
        for f in (ROOT / package).rglob("*.py"):
            tree = ast.parse(f.read_text())
            lines = _assignments_of(tree, "verify_ssl", False) + _calls_with(tree, "verify", False) + \
                _calls_with(tree, "verify_ssl", False) + _calls_with(tree, "insecure_skip_tls_verify", True)
            if lines:
                found[str(f.relative_to(ROOT))] = lines
    assert found == {}


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    tree = ast.parse("subprocess.run('ls', shell=True)\ncfg.verify_ssl = False\nrequests.get(u, verify=False)\n")
    assert _calls_with(tree, "shell", True) == [1]
    assert _assignments_of(tree, "verify_ssl", False) == [2]
    assert _calls_with(tree, "verify", False) == [3]
