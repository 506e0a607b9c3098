"""The game-day suite file: valid suites load to the steps they say; a wrong key or value is one line naming the
file, the field and the fix (the same rules as the target: an unknown key names the closest known one)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xpchaos.run import gameday_suite

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "revoke-credentials.json"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "experiments").mkdir(exist_ok=True)
    (tmp_path / "experiments" / "revoke.json").write_text("{}")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_a_suite_loads_to_its_steps(tmp_path: Path) -> None:
    suite = gameday_suite.load(_write(tmp_path, """
kind: GameDay
metadata: {name: weekly}
steadyState: {timeout: 2m30s}
steps:
  - {experiment: experiments/revoke.json, provider: primary, slo: 1m30s}
  - pause: 500ms
  - scenarios: gameday and aws
  - experiment: experiments/revoke.json
"""))
    assert (suite.name, suite.path, suite.steady_timeout) == ("weekly", tmp_path / "suite.yaml", 150.0)
    first, pause, scenarios, last = suite.steps
    assert (first.experiment, first.provider, first.slo) == (tmp_path / "experiments" / "revoke.json", "primary",
                                                             "1m30s")
    assert (pause.experiment, pause.pause) == (None, 0.5) and pause.describe() == "pause 0.5 s"
    assert scenarios.describe() == "scenarios -m 'gameday and aws'"
    assert (last.provider, last.slo) == (None, None)


def test_the_deployed_suite_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/kubernetes/configmap-target.yaml's suite.yaml, its experiments found from the working directory."""
    manifest = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "configmap-target.yaml").read_text())
    path = tmp_path / "suite.yaml"
    path.write_text(manifest["data"]["suite.yaml"])
    monkeypatch.chdir(ROOT)
    suite = gameday_suite.load(path)
    assert (suite.name, suite.steady_timeout, len(suite.steps)) == ("weekly-failover", 300.0, 5)
    assert [s.pause for s in suite.steps if s.experiment is None] == [60.0, 60.0]


@pytest.mark.parametrize(("body", "message"), [
    ("kind: GameDay\nsteps: [{pause: 1s}]\nstedyState: {timeout: 1m}\n",
     "stedyState: unknown key; did you mean 'steadyState'?"),
    ("kind: GameDay\nowner: me\nsteps: [{pause: 1s}]\n",
     "owner: unknown key; the known keys are apiVersion, kind, metadata, steadyState, steps"),
    ("kind: GameDay\nsteps:\n  - {experiment: experiments/revoke.json, force: true}\n",
     "steps[0].force: unknown key; the known keys are experiment, provider, slo, pause, scenarios"),
    ("kind: GameDay\nsteps:\n  - {experiment: experiments/revoke.json, provder: aws}\n",
     "steps[0].provder: unknown key; did you mean 'provider'?"),
    ("kind: GameDay\nsteadyState: {timout: 1m}\nsteps: [{pause: 1s}]\n",
     "steadyState.timout: unknown key; did you mean 'timeout'?"),
    ("kind: GameDay\nsteps: []\n", "steps: expected a non-empty list"),
    ("kind: GameDay\nsteps:\n  - {experiment: experiments/revoke.json, pause: 1s}\n",
     "steps[0]: expected a mapping with one of experiment: FILE, scenarios: TAGS or pause: DURATION"),
    ("kind: GameDay\nsteps:\n  - {pause: 1s, provider: aws}\n",
     "steps[0]: provider and slo belong to an experiment: step"),
    ("kind: GameDay\nsteps:\n  - pause: soon\n", "steps[0].pause: 'soon' is not a duration"),
    ("kind: GameDay\nsteps:\n  - {experiment: experiments/revoke.json, slo: -5s}\n",
     "steps[0].slo: '-5s' is not a duration"),
    ("kind: GameDay\nsteps:\n  - experiment: no-such.json\n",
     "steps[0].experiment: no such experiment file 'no-such.json' (looked beside the suite"),
    ("kind: GameDay\nsteps:\n  - scenarios: '  '\n", "steps[0].scenarios: expected tags as a marker expression"),
    ("kind: GameDay\nmetadata: weekly\nsteps: [{pause: 1s}]\n", "metadata: expected a mapping, got 'weekly'"),
    ("kind: Nope\n", "kind: expected a document with kind: GameDay"),
])
def test_errors_name_the_field_and_the_fix(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(gameday_suite.SuiteError) as err:
        gameday_suite.load(path)
    found = str(err.value)
    assert found.startswith(f"{path}: {message}") and "\n" not in found, found
    assert "; steps" not in found, found  # one problem, named once (a wrong step is not also "no steps")
