"""xpchaos as a platform team gets it: the wheel built from this checkout, installed (not editable) into a fresh
virtual environment, used from an empty directory with nothing of this repository around.

``test_the_user_path`` runs the README's "Use it in your own repository" command by command (``user_path.USER_PATH``;
the wheel stands in for the release in ``pip install xpchaos``), with a user's own ``steps/`` package and
``sandbox.py`` in the directory, both failing loudly if anything imported them. The other tests use the same
installation: what ``pip show -f`` lists, the gate on stock Crossplane, and a JSON-path tolerance.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.packaging.user_path import GATE, INSTALL, ROOT, USER_PATH
from xpchaos import __version__
from xpchaos.cli.init import NEXT_COMMANDS

SANDBOX_TARGET = Path(".xpchaos/sandbox/target.yaml")  # what `xpchaos sandbox up` writes in the working directory
pytestmark = pytest.mark.timeout(1500)  # the whole path, with a pytest run and a gate inside it
SHADOWS = {  # a user's own modules of the names xpchaos once used: importing any of them fails the command
    "steps/__init__.py": 'raise ImportError("the own steps/ package of the working directory was imported")\n',
    "steps/given.py": 'raise ImportError("the own steps/given.py of the working directory was imported")\n',
    "sandbox.py": 'raise SystemExit("the own sandbox.py of the working directory was run")\n',
}


@dataclass
class Installed:
    """The fresh virtual environment with the wheel installed, and how to run its commands."""

    venv: Path
    wheel: Path
    home: Path

    @property
    def env(self) -> dict[str, str]:
        """Nothing of this checkout or of the test run: the venv's bin first on PATH, a private HOME."""
        dropped = ("XPCHAOS_", "PYTEST_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "KUBECONFIG")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        ours = str(Path(sys.executable).parent)
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != ours]
        env.update(PATH=os.pathsep.join([str(self.venv / "bin"), *path]), HOME=str(self.home),
                   VIRTUAL_ENV=str(self.venv))
        return env

    def run(self, command: str | list[str], cwd: Path, timeout: float = 120,
            **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv as a user types it; on a timeout its whole process group is stopped (the
        sandboxes a pytest run started included)."""
        words = shlex.split(command) if isinstance(command, str) else command
        program = shutil.which(words[0], path=self.env["PATH"])
        assert program and program.startswith(str(self.venv)), f"{words[0]} is not the venv's: {program}"
        with subprocess.Popen([program, *words[1:]], cwd=cwd, env={**self.env, **extra_env}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                out, err = proc.communicate(timeout=60)
                pytest.fail(f"{command}: still running after {timeout:.0f} s\n{out[-3000:]}\n{err[-2000:]}")
        return subprocess.CompletedProcess(words, proc.returncode, out, err)


def _source_tree(into: Path) -> Path:
    """What the wheel is built from (pyproject.toml, README.md and every folder the package maps), copied, so the
    build writes nothing (build/, *.egg-info) into the checkout."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = {Path(folder).parts[0] for folder in pyproject["tool"]["setuptools"]["package-dir"].values()}
    into.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, into / name)
    for folder in sorted(folders):
        shutil.copytree(ROOT / folder, into / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, built as a user's CI would (``python -m build --wheel``), installed into a fresh venv with the
    path's first command."""
    work = tmp_path_factory.mktemp("installed")
    source = _source_tree(work / "source")
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("xpchaos-*.whl")
    made = subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    (work / "home").mkdir()
    found = Installed(work / "venv", wheel, work / "home")
    assert USER_PATH[0] == INSTALL
    install = [*shlex.split(INSTALL)[:-1], str(wheel)]  # the wheel in place of the release
    done = subprocess.run(install, cwd=work, env=found.env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return found


def _plant_shadows(directory: Path) -> None:
    for relative, text in SHADOWS.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_text(text)


def _discoverable() -> set[tuple[str, str]]:
    """Every Chaos Toolkit activity of the sources: the ``__all__`` of each module of actions/ and probes/."""
    found = set()
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


def test_pip_show_lists_only_the_xpchaos_package(installed: Installed, tmp_path: Path) -> None:
    shown = installed.run(["python", "-m", "pip", "show", "-f", "xpchaos"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    files = [line.strip() for line in shown.stdout.split("Files:", 1)[1].splitlines() if line.strip()]
    dist_info = f"xpchaos-{__version__}.dist-info/"
    outside = [f for f in files if not f.startswith(("xpchaos/", dist_info)) and f != "../../../bin/xpchaos"]
    assert files and outside == [], outside
    assert any(f.startswith("xpchaos/experiments/") for f in files) and "xpchaos/features/test_scenarios.py" in files
    site = Path(re.search(r"^Location: (.+)$", shown.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert (site / dist_info / "top_level.txt").read_text().split() == ["xpchaos"]
    imported = installed.run(["python", "-c", "import xpchaos.steps, xpchaos.pytest_plugin; print(xpchaos.__file__)"],
                             tmp_path)
    assert Path(imported.stdout.strip()).is_relative_to(site), imported  # the wheel's copy, not this checkout
    version = installed.run("xpchaos --version", tmp_path)  # written once, in xpchaos/__init__.py
    assert version.stdout.split()[-1] == __version__ and f"Version: {__version__}" in shown.stdout, version.stdout


def test_the_installed_tool_renders_least_privilege_for_a_scaffolded_target(installed: Installed,
                                                                           tmp_path: Path) -> None:
    """``xpchaos rbac`` from the wheel, for the target ``xpchaos init`` writes: read-only roles apart from the run
    roles, each upbound group with its Crossplane v2 twin (the table ships in the package)."""
    assert installed.run("xpchaos init", tmp_path).returncode == 0
    rendered = installed.run("xpchaos rbac --offline --target xpchaos.example.yaml", tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    roles = {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert {("ClusterRole", "xpchaos"), ("ClusterRole", "xpchaos-read")} <= roles, roles
    groups = {g for d in docs for r in d.get("rules") or [] for g in r["apiGroups"]}
    assert {"aws.upbound.io", "aws.m.upbound.io"} <= groups, groups


@pytest.fixture(scope="module")
def stock(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty directory (no features/, no experiments/) with a stock-Crossplane sandbox running: no failover."""
    repo = tmp_path_factory.mktemp("stock-platform")
    up = installed.run("xpchaos sandbox up --detach --speed fast --profile stock", repo)
    assert up.returncode == 0, up.stderr
    try:
        yield repo
    finally:
        installed.run("xpchaos sandbox down", repo)


def test_the_gate_exits_1_on_stock_crossplane_with_the_shipped_scenarios(installed: Installed, stock: Path) -> None:
    """The path's gate against stock Crossplane, its target's SLO tightened to 5 s so that each missing failover is
    decided sooner. Without features/ here the gate runs the scenarios shipped with xpchaos, and says so."""
    target = yaml.safe_load((stock / SANDBOX_TARGET).read_text())
    target["slos"]["dns_convergence"] = "5s"
    (stock / "stock.yaml").write_text(yaml.safe_dump(target))
    gate = installed.run(GATE.replace(str(SANDBOX_TARGET), "stock.yaml"), stock, timeout=900)
    assert gate.returncode == 1, gate.stdout[-4000:] + gate.stderr[-2000:]
    assert "exit 1: not resilient" in gate.stdout
    assert "features: using the copy shipped with xpchaos" in gate.stdout, gate.stdout[:2000]


JSONPATH_EXPERIMENT = {  # as chaostoolkit-kubernetes's examples write a steady state over a custom object
    "title": "The composite reports Ready, read with a JSON-path tolerance",
    "description": "chaostoolkit-kubernetes's probe and a jsonpath tolerance, as users' own experiments use them",
    "steady-state-hypothesis": {"title": "the XR is Ready", "probes": [{
        "type": "probe", "name": "xr-ready-condition", "tolerance": {
            "type": "jsonpath", "path": '$.status.conditions[*][?(@.type = "Ready")].status', "expect": "True"},
        "provider": {"type": "python", "module": "chaosk8s.crd.probes", "func": "get_cluster_custom_object",
                     "arguments": {"group": "database.example.org", "version": "v1alpha1",
                                   "plural": "xglobaldatabases", "name": "production-db"}}}]},
    "method": [{"type": "probe", "name": "read-the-xr", "provider": {
        "type": "python", "module": "chaosk8s.crd.probes", "func": "get_cluster_custom_object",
        "arguments": {"group": "database.example.org", "version": "v1alpha1", "plural": "xglobaldatabases",
                      "name": "production-db"}}}],
}


@pytest.mark.parametrize("expect", ["True", "False"])
def test_a_json_path_tolerance_is_evaluated(installed: Installed, stock: Path, tmp_path: Path, expect: str) -> None:
    """The extra Chaos Toolkit needs for it (jsonpath2) comes with xpchaos: the steady state holds when the path
    finds what it expects (the XR is Ready), and not when it expects something else."""
    experiment = json.loads(json.dumps(JSONPATH_EXPERIMENT))
    experiment["steady-state-hypothesis"]["probes"][0]["tolerance"]["expect"] = expect
    path = tmp_path / "jsonpath.json"
    path.write_text(json.dumps(experiment))
    journal = tmp_path / "journal.json"
    done = installed.run(["chaos", "--no-version-check", "run", "--journal-path", str(journal), str(path)], tmp_path,
                         KUBECONFIG=str(stock / SANDBOX_TARGET.parent / "kubeconfig"))
    assert "jsonpath2" not in done.stdout + done.stderr  # chaoslib's "Install the jsonpath2 package"
    met = json.loads(journal.read_text())["steady_states"]["before"]["steady_state_met"]
    assert met is (expect == "True"), done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0 or expect == "False", done.stdout[-3000:] + done.stderr[-2000:]
