"""House rule: xpchaos has one import namespace. Nothing anywhere imports or names a module as bare ``actions``,
``probes``, ``steps``, ``harness`` or ``sandbox`` (the old top-level packages, and names a user's own ``steps/``
folder or ``sandbox.py`` would shadow): not the Python code (read with ast, its strings and comments too), not the
experiments' ``module`` fields, not the docs (*.md), deploy/ (YAML, Dockerfile), the Makefile or ``.ci/run``.

The checker is tested on planted references of every kind, so a rule that silently stopped seeing them fails too.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPED = ("actions", "probes", "steps", "sandbox")  # folders of the repository mapped into xpchaos
BARE = (*MAPPED, "harness")
SKIPPED_DIRS = {".git", ".venv", "build", "reports", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
PLANTING = Path(__file__).resolve().relative_to(ROOT)  # this file: its planted references are the checker's test
_NAMES = "|".join(BARE)
STATEMENTS = (
    re.compile(rf"(?:^|[;'\"`])\s*(?:from\s+(?:{_NAMES})(?:\.\w+)*\s+import\b|import\s+(?:{_NAMES})\b)",
               re.M),  # import statements, also in python -c '...'
    re.compile(rf"\s-[mp]\s+(?:{_NAMES})\b(?![/-])"),  # python -m sandbox, pytest -p steps.given
)
DOTTED = re.compile(rf"(?<![\w./@-])(?:{_NAMES})\.[a-z_][a-z0-9_]*(?![\w-])")  # steps.when, not steps.md


def _modules() -> set[str]:
    """The modules and sub-packages of the mapped folders by their bare names (``steps.when``,
    ``sandbox.crossplane``): what a dotted name must be to reference one. The old ``harness`` no longer exists,
    so any ``harness.x`` is one."""
    found = set()
    for folder in MAPPED:
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    return found


MODULES = _modules()


def _bare(module: str) -> bool:
    return module.split(".")[0] in BARE


def _a_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "harness" or ".".join(parts[:2]) in MODULES


def text_offences(text: str) -> list[str]:
    """Bare module references in prose, shell, YAML or a Dockerfile: ``import``/``from`` lines, ``-m``/``-p``
    arguments, and dotted names of our modules such as ``steps.when`` (a key path such as ``sandbox.platform`` of
    the target file, or a file name such as ``sandbox.log``, is neither)."""
    found = [match.group(0).strip() for pattern in STATEMENTS for match in pattern.finditer(text)]
    return found + [match.group(0) for match in DOTTED.finditer(text) if _a_module(match.group(0))]


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, f"import {a.name}") for a in node.names if _bare(a.name))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _bare(node.module):
            yield node.lineno, f"from {node.module} import"
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _bare(node.args[0].value):
            yield node.lineno, f"import_module({node.args[0].value!r})"


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Module names as whole strings (``"steps.given"`` in pytest_plugins, ``["-m", "sandbox"]``), and bare
    references inside any string, docstrings included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from ((node.lineno, found) for found in text_offences(f" {node.value}"))
        elif isinstance(node, (ast.List, ast.Tuple)):
            values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            for flag, value in itertools.pairwise(values):
                if flag in ("-m", "-p") and isinstance(value, str) and _bare(value):
                    yield node.lineno, f"{flag} {value}"


def python_offences(source: str) -> list[str]:
    tree = ast.parse(source)
    found = [*_imports(tree), *_strings(tree)]
    comments = (t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT)
    found += [(t.start[0], hit) for t in comments for hit in text_offences(t.string)]
    return [f"line {line}: {what}" for line, what in sorted(set(found))]


def experiment_offences(doc: object) -> list[str]:
    """``module`` fields (of providers, controls, tolerances) naming a bare module."""
    if isinstance(doc, dict):
        own = [f"module {doc['module']!r}"] if isinstance(doc.get("module"), str) and _bare(doc["module"]) else []
        return own + [hit for value in doc.values() for hit in experiment_offences(value)]
    if isinstance(doc, list):
        return [hit for value in doc for hit in experiment_offences(value)]
    return []


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative != PLANTING and not SKIPPED_DIRS & set(relative.parts[:-1]) \
                and not any(part.endswith(".egg-info") for part in relative.parts):
            yield path


def offences(root: Path) -> dict[str, list[str]]:
    """Every bare reference under ``root``, by file."""
    found: dict[str, list[str]] = {}
    for path in _files(root):
        relative = path.relative_to(root)
        hits: list[str] = []
        if path.suffix == ".py":
            hits = python_offences(path.read_text())
        elif path.suffix == ".json":
            try:
                hits = experiment_offences(json.loads(path.read_text()))
            except (json.JSONDecodeError, UnicodeDecodeError):  # the corpus's deliberately broken files
                hits = []
        elif path.suffix == ".md" or relative.parts[0] == "deploy" or str(relative) in ("Makefile", ".ci/run") \
                or (path.suffix in (".yaml", ".yml", ".toml") and "corpus" not in relative.parts):
            hits = text_offences(path.read_text(errors="replace"))
        if hits:
            found[str(relative)] = hits
    return found


def test_nothing_in_the_repository_names_a_bare_module() -> None:
    found = offences(ROOT)
    assert found == {}, "name these modules as xpchaos.<package>.<module>: " + json.dumps(found, indent=1)


def test_the_check_covers_every_kind_of_file() -> None:
    checked = {p.relative_to(ROOT).parts[0] for p in _files(ROOT)}
    assert {"src", "actions", "probes", "steps", "sandbox", "tests", "experiments", "deploy", "docs"} <= checked
    assert (ROOT / "Makefile").is_file() and (ROOT / ".ci" / "run").is_file()


PLANTED = {
    "pkg/imports.py": ("import steps\nfrom sandbox.serve import main\nimport harness.gate as g\n"
                       "importlib.import_module('probes.failover')\n"),
    "pkg/strings.py": ('pytest_plugins = ["steps.given"]\nCOMMAND = [sys.executable, "-m", "sandbox", "serve"]\n'
                       '"""Runs ``actions.credentials`` for you."""\n'),
    "pkg/comment.py": "x = 1  # see probes.failover for why\n",
    "experiments/bad.json": json.dumps({"method": [{"provider": {"type": "python", "module": "actions.network",
                                                                 "func": "block_provider_api"}}]}),
    "docs/guide.md": "```python\nfrom steps.world import World\n```\nRun `python -m sandbox serve`.\n",
    "deploy/ci/gate.yml": "run: python -m pytest -p steps.given features/\n",
    "deploy/Dockerfile": "RUN python -m harness.cli gate\n",
    "Makefile": "demo:\n\tpython -m sandbox serve\n",
    ".ci/run": "#!/bin/sh\npython -c 'import probes'\n",
}


@pytest.mark.parametrize("relative", sorted(PLANTED))
def test_the_check_finds_a_planted_bare_reference(tmp_path: Path, relative: str) -> None:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLANTED[relative])
    assert list(offences(tmp_path)) == [relative]


def test_the_check_counts_every_reference_of_a_planted_file(tmp_path: Path) -> None:
    (tmp_path / "imports.py").write_text(PLANTED["pkg/imports.py"])
    (tmp_path / "strings.py").write_text(PLANTED["pkg/strings.py"])
    found = offences(tmp_path)
    lines = {name: {hit.split(":")[0] for hit in hits} for name, hits in found.items()}
    assert lines == {"imports.py": {"line 1", "line 2", "line 3", "line 4"},
                     "strings.py": {"line 1", "line 2", "line 3"}}, found


def test_the_check_leaves_namespaced_modules_file_names_and_prose_alone(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(
        'import xpchaos.steps\nfrom xpchaos.sandbox import serve\npytest_plugins = ["xpchaos.steps.given"]\n'
        'LOG = "sandbox.log"\nCOMMAND = ["-m", "xpchaos.sandbox", "serve"]\nsteps = []\nsteps.append(1)\n'
        'sandbox.kubeconfig  # the sandbox. It runs apart\n')
    (tmp_path / "README.md").write_text(
        "Run `python -m xpchaos.sandbox serve`; see probes/README.md and steps.md. The sandbox. Steps: 3.\n"
        "The target's `sandbox.platform` and `sandbox.providerConfigs` keys.\n"
        "```python\nfrom xpchaos.steps.world import World\n```\n")
    (tmp_path / "experiment.json").write_text(json.dumps({"module": "xpchaos.actions.network"}))
    assert offences(tmp_path) == {}
