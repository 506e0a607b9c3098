"""House rules of the tests themselves: a conftest.py holds fixtures and no module imports one (nor a test module);
what tests share lives in ``tests.support`` or a folder's own helper module; nothing sleeps in place of a condition.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Sequence
from pathlib import Path

from tests.support.paths import ROOT

SKIPPED_DIRS = {".git", ".venv", "build", "dist", "node_modules", "__pycache__"}


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIPPED_DIRS.intersection(p.relative_to(ROOT).parts))


def package_of(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).parts[:-1])


def imported(source: str, package: Sequence[str]) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in ``source``, relative ones resolved against ``package``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parent = [*package[:len(package) - node.level + 1]] if node.level else []
            base = ".".join([*parent, *([node.module] if node.module else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]  # `from . import conftest`
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
    return sorted(found)


def library_imports(source: str, package: Sequence[str]) -> list[tuple[int, str]]:
    """The imports of a conftest or of a test module."""
    return [(line, module) for line, module in imported(source, package)
            if (last := module.rsplit(".", 1)[-1]) == "conftest" or last.startswith("test_")]


def bare_sleeps(source: str) -> list[int]:
    """Lines of ``time.sleep`` calls without a comment on the line saying why the sleep is not a wait."""
    commented = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                 if tok.type == tokenize.COMMENT}
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "sleep"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "time"
            and node.lineno not in commented]


def test_no_module_imports_a_conftest_or_a_test_module() -> None:
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in python_files()
             for line, module in library_imports(path.read_text(), package_of(path))]
    assert found == [], "move what is shared into tests/support/ or the folder's own helper module:\n" + \
        "\n".join(found)


def test_no_test_sleeps_in_place_of_a_condition() -> None:
    waiting = ROOT / "tests" / "support" / "waiting.py"  # the one place that polls
    found = [f"{path.relative_to(ROOT)}:{line}" for path in python_files()
             if path.is_relative_to(ROOT / "tests") and path != waiting for line in bare_sleeps(path.read_text())]
    assert found == [], "wait on the condition with tests.support.waiting.wait_for, or say on the line why the " \
        "sleep is the thing tested:\n" + "\n".join(found)


def test_the_checks_see_what_they_look_for() -> None:
    sample = ("from .conftest import Journals\nfrom tests.conftest import Sandbox\nfrom . import conftest\n"
              "import tests.sandbox.crossplane.conftest\nfrom tests.core.test_target import MINIMAL\n"
              "importlib.import_module('tests.sandbox.api.conftest')\nfrom tests.support import waiting\n"
              "from ..support.sandboxes import Sandbox\n"
              "time.sleep(1)\ntime.sleep(0.1)  # pacing the load is the thing measured\n")
    assert library_imports(sample, ["tests", "report"]) == [
        (1, "tests.report.conftest"), (2, "tests.conftest"), (3, "tests.report.conftest"),
        (4, "tests.sandbox.crossplane.conftest"), (5, "tests.core.test_target"), (6, "tests.sandbox.api.conftest")]
    assert (8, "tests.support.sandboxes") in imported(sample, ["tests", "report"])
    assert bare_sleeps(sample) == [9]
