"""xpchaos as a platform team gets it: the wheel built from this checkout, installed (not editable) into a fresh
virtual environment (``tests.packaging.installed``, shared with the other files that use it), used from an empty
directory with nothing of this repository around.

``test_the_user_path`` runs the README's "Use it in your own repository" command by command (``user_path.USER_PATH``;
the wheel stands in for the release in ``pip install xpchaos``), with a user's own ``steps/`` package and
``sandbox.py`` in the directory, both failing loudly if anything imported them. What else the installation does
(what ``pip show -f`` lists, ``xpchaos rbac``, the gate on stock Crossplane, a JSON-path tolerance) is tested in
``test_installed_commands.py``, which may run on another worker at the same time.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.packaging import installed as installation
from tests.packaging.installed import Installed
from tests.packaging.user_path import GATE, ROOT, USER_PATH
from xpchaos import __version__
from xpchaos.cli.init import NEXT_COMMANDS

pytestmark = pytest.mark.timeout(1500)  # the whole path, with a pytest run and a gate inside it
SHADOWS = {  # a user's own modules of the names xpchaos once used: importing any of them fails the command
    "steps/__init__.py": 'raise ImportError("the own steps/ package of the working directory was imported")\n',
    "steps/given.py": 'raise ImportError("the own steps/given.py of the working directory was imported")\n',
    "sandbox.py": 'raise SystemExit("the own sandbox.py of the working directory was run")\n',
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The session's installation of the wheel, with this file's own HOME."""
    return installation.installed(tmp_path_factory, tmp_path_factory.mktemp("user-path-home"))


def _plant_shadows(directory: Path) -> None:
    for relative, text in SHADOWS.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_text(text)


def _discoverable() -> set[tuple[str, str]]:
    """Every Chaos Toolkit activity of the sources: the ``__all__`` of each module of actions/ and probes/."""
    found: set[tuple[str, str]] = set()
    for folder in ("actions", "probes"):
        for path in sorted((ROOT / folder).glob("*.py")):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                    found.update((f"xpchaos.{folder}.{path.stem}", name) for name in ast.literal_eval(node.value))
    return found


def _check_init(result: subprocess.CompletedProcess[str], repo: Path) -> None:
    assert (repo / "features" / "test_scenarios.py").is_file() and (repo / "experiments").is_dir()
    assert not (repo / "xpchaos.yaml").exists()  # the commands keep using the sandbox's target
    shown = [line.strip() for line in result.stdout.split("Next", 1)[1].splitlines()[1:] if line.strip()]
    at = USER_PATH.index("xpchaos init") + 1
    assert shown == list(NEXT_COMMANDS) == list(USER_PATH[at:at + 3]), shown


def _check_pytest(result: subprocess.CompletedProcess[str], installed: Installed, repo: Path) -> None:
    collected = installed.run("pytest features/ -m ci --collect-only -q -p no:cacheprovider", repo)
    count = int(re.search(r"(\d+)(?:/\d+)? tests? collected", collected.stdout).group(1))  # type: ignore[union-attr]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{count} passed\b", summary) and "failed" not in summary and "skipped" not in summary, \
        summary


def _check_gate(result: subprocess.CompletedProcess[str], repo: Path) -> None:
    assert "exit 0: every selected scenario passed" in result.stdout, result.stdout[-3000:]
    assert (repo / "reports" / "gate" / "index.html").is_file() and (repo / "reports" / "gate" / "junit.xml").is_file()


def _check_chaos_run(result: subprocess.CompletedProcess[str], repo: Path) -> None:
    journal = json.loads((repo / "journal.json").read_text())
    found = next(e for e in journal["extensions"] if e["name"] == "xpchaos-verdict")
    assert journal["status"] == "completed" and found["outcome"] == "passed", found


def _check_discover(result: subprocess.CompletedProcess[str], repo: Path) -> None:
    discovery = json.loads((repo / "discovery.json").read_text())
    assert discovery["extension"] == {"name": "xpchaos", "version": __version__}
    listed = {(a["mod"], a["name"]) for a in discovery["activities"]}
    expected = _discoverable()
    assert listed == expected, (sorted(expected - listed), sorted(listed - expected))
    kinds = {a["name"]: a["type"] for a in discovery["activities"]}
    assert kinds["revoke_credentials"] == "action" and kinds["failover_completes"] == "probe"


def test_the_user_path(installed: Installed, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    """Every command of the README's "Use it in your own repository", in an empty directory; each must exit 0 and
    do what the README says."""
    repo = tmp_path / "platform"
    repo.mkdir()
    checks: dict[str, Callable[[subprocess.CompletedProcess[str]], None]] = {
        "xpchaos init": lambda r: _check_init(r, repo),
        "pytest features/ -m ci": lambda r: _check_pytest(r, installed, repo),
        GATE: lambda r: _check_gate(r, repo),
        "chaos run experiments/revoke-credentials.json": lambda r: _check_chaos_run(r, repo),
        "chaos discover --no-install xpchaos": lambda r: _check_discover(r, repo),
        "xpchaos restore": lambda r: None if "Nothing to restore" in r.stdout else pytest.fail(r.stdout),
    }
    assert set(checks) <= set(USER_PATH)
    timings = {}
    try:
        for command in USER_PATH[1:]:
            started = time.monotonic()
            result = installed.run(command, repo, timeout=900)
            timings[command] = round(time.monotonic() - started, 1)
            assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stdout[-4000:]}\n" \
                                           f"{result.stderr[-3000:]}"
            checks.get(command, lambda r: None)(result)
            if command == "xpchaos init":
                _plant_shadows(repo)
                for module in ("steps", "sandbox"):
                    planted = installed.run(["python", "-c", f"import {module}"], repo)
                    assert planted.returncode != 0 and "own" in planted.stderr, planted.stderr  # the plant bites
    finally:
        installed.run("xpchaos sandbox down", repo)
    for command, seconds in timings.items():
        record_property(command, seconds)
    print("\n".join(f"{seconds:7.1f} s  {command}" for command, seconds in timings.items()))
