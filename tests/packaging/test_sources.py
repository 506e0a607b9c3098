"""Where features and experiments come from (``xpchaos.run.sources``): the path given, else the working directory,
else the copies shipped with xpchaos; and the commands saying which one they use."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.user_path import ROOT
from xpchaos.run import gameday_suite, sources
from xpchaos.run import sandbox_process as sp

BUILTIN = ("block-provider-api.json", "delete-providerconfig.json", "fail-health-check.json", "revoke-credentials.json")


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no features/ and no experiments/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_shipped_copies_are_the_repositorys_files() -> None:
    assert sources.builtin_experiments() == sorted(BUILTIN)
    for name in BUILTIN:
        assert (sources.shipped_dir("experiments") / name).read_bytes() == (ROOT / "experiments" / name).read_bytes()
    shipped = {p.name for p in sources.shipped_dir("features").iterdir() if p.suffix in (".feature", ".py")}
    assert shipped == {p.name for p in (ROOT / "features").iterdir() if p.suffix in (".feature", ".py")}


@pytest.mark.parametrize("asked", ["revoke-credentials", "revoke-credentials.json",
                                   "experiments/revoke-credentials.json"])
def test_a_builtin_experiment_absent_here_is_the_shipped_copy(empty: Path, asked: str) -> None:
    found = sources.experiment(asked)
    assert found.shipped and found.path == sources.shipped_dir("experiments") / "revoke-credentials.json"
    note = found.note() or ""
    assert note.startswith(f"{asked}: using the copy shipped with xpchaos") and str(empty) in note


@pytest.mark.parametrize("asked", ["revoke-credentials", "revoke-credentials.json",
                                   "experiments/revoke-credentials.json"])
def test_the_working_directorys_copy_comes_first(empty: Path, asked: str) -> None:
    mine = empty / "experiments" / "revoke-credentials.json"
    mine.parent.mkdir()
    mine.write_text("{}")
    found = sources.experiment(asked)
    assert not found.shipped and found.path == Path("experiments/revoke-credentials.json")
    assert (found.note() is None) == (asked == "experiments/revoke-credentials.json"), found.note()


@pytest.mark.parametrize("asked", ["/nowhere/revoke-credentials.json", "elsewhere/revoke-credentials.json",
                                   "my-own.json"])
def test_a_path_elsewhere_or_an_unknown_name_is_never_swapped_for_a_shipped_one(empty: Path, asked: str) -> None:
    found = sources.experiment(asked)
    assert found == sources.Found(Path(asked), asked) and found.note() is None


def test_features_come_from_the_option_then_here_then_the_package(empty: Path) -> None:
    shipped = sources.features()
    assert shipped.shipped and (shipped.path / "test_scenarios.py").is_file()
    assert sorted(p.name for p in shipped.path.glob("*.feature"))
    (empty / "features").mkdir()
    assert sources.features() == sources.Found(Path("features"), "features")
    assert sources.features(Path("/some/where")).path == Path("/some/where")


def test_a_game_day_suite_finds_a_builtin_experiment_it_has_no_copy_of(empty: Path) -> None:
    (empty / "suite.yaml").write_text("kind: GameDay\nsteps:\n  - experiment: experiments/revoke-credentials.json\n")
    suite = gameday_suite.load(empty / "suite.yaml")
    assert suite.steps[0].experiment == sources.shipped_dir("experiments") / "revoke-credentials.json"


def xpchaos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpchaos", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A blueprint sandbox (fast timings); yields its target file."""
    state = tmp_path_factory.mktemp("sources-sandbox")
    info, _child = sp.start(state, extra_args=["--profile", "blueprint", "--speed", "fast"])
    try:
        yield Path(info.target or state / "target.yaml")
    finally:
        sp.stop(state)


def test_plan_and_run_use_the_shipped_experiment_and_say_so(blueprint: Path, tmp_path: Path) -> None:
    plan = xpchaos("plan", "block-provider-api", "--target", str(blueprint), cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.startswith("block-provider-api: using the copy shipped with xpchaos"), plan.stdout
    assert "NetworkPolicy" in plan.stdout
    as_json = xpchaos("plan", "block-provider-api", "--target", str(blueprint), "-o", "json", cwd=tmp_path)
    assert as_json.returncode == 0 and as_json.stdout.startswith("{"), as_json.stdout  # the note goes to stderr
    assert "using the copy shipped with xpchaos" in as_json.stderr
    run = xpchaos("run", "experiments/revoke-credentials.json", "--target", str(blueprint), "--undo-log",
                  str(tmp_path / "undo.jsonl"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert run.stdout.startswith("experiments/revoke-credentials.json: using the copy shipped with xpchaos")
    assert list((tmp_path / "reports" / "runs").glob("*-revoke-credentials/journal.json"))


def test_the_gate_runs_the_shipped_scenarios_and_says_so(tmp_path: Path) -> None:
    gate = xpchaos("gate", "-m", "azure and not azure", "--report-dir", str(tmp_path / "report"), cwd=tmp_path)
    assert gate.returncode == 2, gate.stdout + gate.stderr  # nothing selected: collected, not run
    assert "features: using the copy shipped with xpchaos" in gate.stdout
    assert "no scenario matched the selection" in gate.stdout


def test_the_demo_runs_the_shipped_experiment_from_an_empty_directory(tmp_path: Path) -> None:
    state, transcript = tmp_path / "sb", tmp_path / "out" / "demo.txt"
    try:
        demo = xpchaos("demo", "--state-dir", str(state), "--transcript", str(transcript), "--speed", "fast",
                       cwd=tmp_path)
    finally:
        sp.stop(state)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-2000:]
    text = transcript.read_text()
    assert "revoke-credentials.json: using the copy shipped with xpchaos" in text
    assert "xpchaos init" in text and "pytest features/" not in text  # no features/ here: it suggests init
