"""The layer contract of pyproject.toml ([tool.importlinter], run by `make lint`) holds for the package as installed,
and breaks on an import that runs back up a layer or crosses into the sandbox: shown on a copy of the package with
one such import added, checked by the real ``lint-imports``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import xpchaos
from tests.support.paths import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = "the harness's layers: each imports only the layers below it"


def lint_imports(config: Path, package_parent: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``config``; with ``package_parent``, on the copy of xpchaos found there."""
    env = dict(os.environ)
    if package_parent is not None:  # first on sys.path: ahead of the installed (editable) xpchaos
        env["PYTHONPATH"] = str(package_parent)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)], capture_output=True,
                          text=True, env=env, cwd=config.parent, timeout=120)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the installed package (real files, not the links of the editable install) and of pyproject.toml."""
    shutil.copytree(Path(xpchaos.__file__).parent, tmp_path / "site" / "xpchaos",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, statement: str) -> None:
    module.write_text(module.read_text() + f"\n{statement}  # an import the contract must refuse\n")


def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{LAYERS} KEPT" in result.stdout, result.stdout


def test_the_copy_alone_keeps_them_too(copy: Path) -> None:  # so that the failures below are the added import's
    result = lint_imports(copy / "pyproject.toml", copy / "site")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "statement", "chain"), [
    ("probes/failover.py", "from xpchaos.run import runner", "xpchaos.probes.failover -> xpchaos.run.runner"),
    ("core/kube.py", "from xpchaos import verdict", "xpchaos.core.kube -> xpchaos.verdict"),
    ("run/gate.py", "from xpchaos.report import html", "xpchaos.run.gate -> xpchaos.report.html"),
    ("steps/then.py", "from xpchaos.report import svg", "xpchaos.steps.then -> xpchaos.report.svg"),
])
def test_an_upward_import_breaks_the_layers(copy: Path, module: str, statement: str, chain: str) -> None:
    add_import(copy / "site" / "xpchaos" / module, statement)
    result = lint_imports(copy / "pyproject.toml", copy / "site")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{LAYERS} BROKEN" in result.stdout and chain in result.stdout, result.stdout


@pytest.mark.parametrize(("module", "statement", "chain"), [
    ("sandbox/serve.py", "from xpchaos.core import kube", "xpchaos.sandbox.serve -> xpchaos.core.kube"),
    ("run/preflight.py", "from xpchaos.sandbox import serve", "xpchaos.run.preflight -> xpchaos.sandbox.serve"),
])
def test_the_sandbox_stays_apart(copy: Path, module: str, statement: str, chain: str) -> None:
    add_import(copy / "site" / "xpchaos" / module, statement)
    result = lint_imports(copy / "pyproject.toml", copy / "site")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sandbox" in result.stdout and "BROKEN" in result.stdout and chain in result.stdout, result.stdout
