"""The "bad input" corpus: malformed or hostile targets, experiments, game-day suites and feature files, each given
to the real command that reads it (``xpchaos run``/``plan``/``gameday``/``preflight``/``gate``, ``pytest features
--target``) in a process of its own against one blueprint sandbox.

Every case must end with the documented exit code (2 bad input; pytest's 4 for a ``--target`` usage error;
``preflight`` 1 when the target loads but a check fails), exactly one line on stderr, no traceback anywhere,
within a bounded time, and leave the cluster as it was: the same ``xpchaos.run.snapshot`` before and after, no undo log,
no journal. The files are in this directory; what must be made per run (the bad targets, which carry the sandbox's
kubeconfig, and the 5 MB files) is made from ``target-mutations.yaml`` and the sandbox's own target.yaml.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import sandboxes
from tests.support.commands import CHAOS
from tests.support.paths import ROOT
from tests.support.runs import KNOBS
from tests.support.sandboxes import Sandbox
from tests.support.targets import kubeconfig_at
from xpchaos.core import target as targets
from xpchaos.run import snapshot

CORPUS = Path(__file__).resolve().parent
EXPERIMENT = ROOT / "experiments" / "revoke-credentials.json"
PWNED = Path("/tmp/xpchaos-corpus-pwned")  # what the python-tag files would create if a YAML loader obeyed them
TIMEOUT = 30.0  # no bad input may take longer than this to refuse (unreachable hosts included)
HUGE = 5 * 1024 * 1024


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- the bugs found (see the report); strict: a fix turns them into failures that ask for the mark to go ---------
BUGS: dict[str, str] = {}  # every bug this corpus found is fixed; a new one goes here with its reason


def bug(case_id: str) -> list[Any]:
    reason = BUGS.get(case_id)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


# -- the sandbox, the world of each run ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandboxes.platform(tmp_path_factory.mktemp("corpus-blueprint"), "blueprint") as box:
        yield box


@dataclass
class World:
    directory: Path
    box: Sandbox

    @property
    def undo_log(self) -> Path:
        return self.directory / "undo.jsonl"

    @property
    def journal(self) -> Path:
        return self.directory / "journal.json"

    @property
    def report_dir(self) -> Path:
        return self.directory / "report"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in KNOBS and k != "XPCHAOS_WEBHOOK_URL"}
        env.update(HOME=str(self.directory), XPCHAOS_UNDO_LOG=str(self.undo_log),
                   XPCHAOS_HISTORY=str(self.directory / "history.sqlite"))
        return env


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> World:
    return World(tmp_path, sandbox)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float


def invoke(argv: list[str], world: World, timeout: float = TIMEOUT) -> Result:
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout, cwd=ROOT,
                              env=world.env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(argv)}: still running after {timeout:.0f} s (a hang on bad input)")
    return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def xpchaos_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "xpchaos", *args]


def command(name: str, world: World, *, experiment: Path = EXPERIMENT, target: Path | None = None,
            suite: Path | None = None) -> list[str]:
    t = ["--target", str(target)] if target is not None else []
    if name == "run":
        return xpchaos_argv("run", str(experiment), *t, "--journal", str(world.journal))
    if name == "plan":
        return xpchaos_argv("plan", str(experiment), *t)
    if name == "preflight":
        return xpchaos_argv("preflight", *t)
    if name == "gameday":
        assert suite is not None
        return xpchaos_argv("gameday", str(suite), *t, "--report-dir", str(world.report_dir))
    if name == "gate":
        return xpchaos_argv("gate", *t, "-m", "ci and aws", "--report-dir", str(world.report_dir))
    if name == "pytest":
        return [sys.executable, "-m", "pytest", "features", *t, "-q", "-p", "no:cacheprovider", "-p",
                "no:randomly", "-m", "ci and aws"]
    if name == "chaos":  # XPCHAOS_TARGET=T chaos run EXPERIMENT, as the README shows it
        return ["env", *([f"XPCHAOS_TARGET={target}"] if target is not None else []), CHAOS, "--no-version-check",
                "run", "--journal-path", str(world.journal), str(experiment)]
    raise AssertionError(name)


def assert_refused(result: Result, world: World, before: snapshot.Snapshot, code: int = 2,
                   chaos: bool = False) -> None:
    """The documented exit code, one line on stderr (none for a preflight that ran its checks; for ``chaos run``,
    one ``error:`` line after Chaos Toolkit's own log lines and no error of its own), no traceback, and nothing
    changed or written."""
    shown = f"exit {result.code} in {result.seconds:.1f} s\nstdout:\n{result.stdout[-3000:]}\nstderr:\n" \
            f"{result.stderr[-3000:]}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.code == code, shown
    if code == 1:  # preflight's findings: a table on stdout, nothing on stderr
        assert result.stderr == "", shown
    elif code == 4:  # pytest's usage error: our one line among pytest's own
        assert "ERROR: --target: " in result.stderr, shown
    elif chaos:
        lines = result.stderr.splitlines()
        assert len([line for line in lines if line.startswith("error: ")]) == 1, shown
        assert not [line for line in lines if " ERROR]" in line or " CRITICAL]" in line], shown
    else:
        assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), shown
    assert result.seconds < TIMEOUT, shown
    assert not world.undo_log.exists(), f"an undo log was written\n{shown}"
    assert not world.journal.exists(), f"a journal was written\n{shown}"
    assert not (world.report_dir / "index.html").exists() or code != 2, f"a game-day report was written\n{shown}"
    assert not PWNED.exists(), "a YAML tag ran a command"
    after = snapshot.take(world.box.target)
    assert snapshot.diff(before, after) == [], "the cluster changed"


# -- experiments: xpchaos run / plan --------------------------------------------------------------------------------
EXPERIMENT_FILES = sorted(p for p in (CORPUS / "experiments").iterdir() if p.is_file())
GENERATED_EXPERIMENTS = ("huge.json", "directory")


def _experiment(name: str, directory: Path) -> Path:
    if name == "huge.json":  # valid JSON, 5 MB: refused by size before it is parsed
        path = directory / "huge.json"
        path.write_text('{"title": "huge", "description": "' + "x" * HUGE + '", "method": []}')
        return path
    if name == "directory":
        (directory / "exp.json").mkdir()
        return directory / "exp.json"
    return CORPUS / "experiments" / name


EXPERIMENT_CASES = [
    pytest.param(cmd, name, id=f"{cmd}-experiments/{name}", marks=bug(f"{cmd}-experiments/{name}"))
    for name in [p.name for p in EXPERIMENT_FILES] + list(GENERATED_EXPERIMENTS) for cmd in ("run", "plan")
]


@pytest.mark.parametrize(("cmd", "name"), EXPERIMENT_CASES)
def test_bad_experiment(cmd: str, name: str, world: World) -> None:
    experiment = _experiment(name, world.directory)
    before = world.box.snapshot()
    result = invoke(command(cmd, world, experiment=experiment, target=world.box.target_path), world)
    assert_refused(result, world, before)


# -- game-day suites: xpchaos gameday -----------------------------------------------------------------------------
SUITE_FILES = sorted(p.name for p in (CORPUS / "suites").iterdir() if p.is_file())
SUITE_SAYS = {  # what the one line must contain, after the file's name
    "unknown-key.yaml": "stedyState: unknown key; did you mean 'steadyState'?",
    "step-key-typo.yaml": "steps[0].provder: unknown key; did you mean 'provider'?",
    "step-unknown-key.yaml": "steps[0].force: unknown key; the known keys are experiment, provider, slo, pause, "
                             "scenarios",
}


def _suite(name: str, directory: Path) -> Path:
    if name == "huge.yaml":
        path = directory / "huge.yaml"
        path.write_text("kind: GameDay\nsteps: [{pause: 1s}]\n" + "#" + "x" * HUGE + "\n")
        return path
    return CORPUS / "suites" / name


@pytest.mark.parametrize("name", [pytest.param(n, id=f"gameday-suites/{n}", marks=bug(f"gameday-suites/{n}"))
                                  for n in [*SUITE_FILES, "huge.yaml"]])
def test_bad_suite(name: str, world: World) -> None:
    before = world.box.snapshot()
    suite = _suite(name, world.directory)
    result = invoke(command("gameday", world, suite=suite, target=world.box.target_path), world)
    assert_refused(result, world, before)
    if name in SUITE_SAYS:
        assert f"{suite}: {SUITE_SAYS[name]}" in result.stderr, result.stderr


# -- targets: files of the corpus, and mutations of the sandbox's real target ---------------------------------------
TARGET_FILES = sorted(p.name for p in (CORPUS / "targets").iterdir() if p.is_file())
MUTATIONS = {m["id"]: m for m in yaml.safe_load((CORPUS / "target-mutations.yaml").read_text())}
STATIC_TARGET_COMMANDS = ("run", "plan", "preflight")


def _unreachable_kubeconfig(box: Sandbox, directory: Path) -> str:
    """The sandbox's kubeconfig with its server moved to a port nobody listens on."""
    return str(kubeconfig_at(box.kubeconfig, directory / "unreachable-kubeconfig", "https://127.0.0.1:1"))


def _mutated(mutation: dict[str, Any], box: Sandbox, directory: Path) -> Path:
    doc = yaml.safe_load(box.target_path.read_text())
    *parents, last = mutation["path"]
    node = doc
    for key in parents:
        node = node[key]
    if mutation.get("delete"):
        del node[last]
    elif "rename" in mutation:
        node[mutation["rename"]] = node.pop(last)
    else:
        value = copy.deepcopy(mutation["value"])
        node[last] = _unreachable_kubeconfig(box, directory) if value == "$UNREACHABLE" else value
    path = directory / f"{mutation['id']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _target(source: str, box: Sandbox, directory: Path) -> Path:
    kind, _, name = source.partition("/")
    if kind == "mutations":
        return _mutated(MUTATIONS[name], box, directory)
    if name == "huge.yaml":  # valid YAML, 5 MB
        path = directory / "huge.yaml"
        path.write_text("kind: Target\ndescription: " + "x" * HUGE + "\nproviders: {}\n")
        return path
    if name == "directory":
        (directory / "target.yaml").mkdir()
        return directory / "target.yaml"
    return CORPUS / "targets" / name


def _target_cases() -> Iterator[Any]:
    for name in [*TARGET_FILES, "huge.yaml", "directory"]:
        for cmd in STATIC_TARGET_COMMANDS:
            yield f"targets/{name}", cmd
    for mutation in MUTATIONS.values():
        for cmd in mutation.get("commands", ["run"]):
            yield f"mutations/{mutation['id']}", cmd


TARGET_CASES = [pytest.param(source, cmd, id=f"{cmd}-{source}", marks=bug(f"{cmd}-{source}"))
                for source, cmd in _target_cases()]


def _loads(path: Path) -> bool:
    try:
        targets.load(path)
    except (targets.TargetError, OSError):
        return False
    except Exception:
        return False
    return True


@pytest.mark.parametrize(("source", "cmd"), TARGET_CASES)
def test_bad_target(source: str, cmd: str, world: World) -> None:
    target = _target(source, world.box, world.directory)
    mutation = MUTATIONS.get(source.partition("/")[2], {}) if source.startswith("mutations/") else {}
    experiment = ROOT / "experiments" / f"{mutation.get('experiment', 'revoke-credentials')}.json"
    suite = world.directory / "suite.yaml"
    suite.write_text(yaml.safe_dump({"kind": "GameDay", "steadyState": {"timeout": "5s"},
                                     "steps": [{"experiment": str(EXPERIMENT)}]}))
    # preflight reports a target that loads but names a cluster it cannot use as a failed check (exit 1)
    code = {"pytest": 4}.get(cmd, 1 if cmd == "preflight" and _loads(target) else 2)
    before = world.box.snapshot()
    timeout = 120.0 if cmd in ("gate", "pytest") else TIMEOUT
    result = invoke(command(cmd, world, experiment=experiment, target=target, suite=suite), world, timeout)
    assert_refused(result, world, before, code, chaos=cmd == "chaos")
    if "says" in mutation and code != 1:  # the line names the file, the field and the fix (preflight's exit 1:
        assert f"{target}: {mutation['says']}" in result.stderr, result  # the same words, wrapped in its table)


# -- feature files: checked (xpchaos.steps.feature_files) before pytest-bdd binds them ----------------------------
FEATURES = {  # file -> what the one-line refusal must say (after the file name), or "parsed"
    "empty.feature": "no 'Feature:' line",
    "no-feature-keyword.feature": ":1: 'Scenario: a scenario with no Feature above it' before any 'Feature:' line",
    "two-features.feature": ":4: a second 'Feature: two'",
    "unknown-language.feature": ":1: Language not supported: xx-klingon",
    "not-utf8.feature": "not UTF-8 text",
    "huge.feature": "parsed",
    "outline-without-examples.feature": ":2: Scenario Outline 'losing <cloud>' has no Examples table",
    "step-before-scenario.feature": "'Given a step before any scenario' is outside any Scenario or Background",
    "unknown-keyword.feature": ":2: Scenario 'bogus' has no steps",
}


@pytest.mark.parametrize("name", sorted(FEATURES), ids=lambda n: f"features/{n}")
def test_bad_feature_file(name: str, tmp_path: Path) -> None:
    from pytest_bdd.feature import get_feature

    from xpchaos.steps import feature_files

    if name == "huge.feature":
        steps = "".join(f"    Given a healthy XGlobalDatabase number {i}\n" for i in range(HUGE // 45))
        (tmp_path / name).write_text(f"Feature: huge\n  Scenario: many steps\n{steps}")
        directory = tmp_path
    else:
        directory = CORPUS / "features"
    assert set(FEATURES) - {"huge.feature"} == {p.name for p in (CORPUS / "features").iterdir()}
    started = time.monotonic()
    if FEATURES[name] == "parsed":
        feature_files.check(directory / name)
        feature = get_feature(str(directory), name)
        assert feature is not None and feature.scenarios
    else:
        with pytest.raises(feature_files.FeatureFileError) as caught:
            feature_files.check(directory / name)
        message = str(caught.value)
        assert message.startswith(f"{directory / name}") and FEATURES[name] in message, message
        assert "\n" not in message
    assert time.monotonic() - started < TIMEOUT


def test_pytest_refuses_a_bad_feature_file_in_one_line_before_running_anything(tmp_path: Path) -> None:
    """As ``pytest features`` (and so ``xpchaos gate``) meets it: usage error (exit 4), one line naming the file."""
    (tmp_path / "test_scenarios.py").write_text((ROOT / "features" / "test_scenarios.py").read_text())
    (tmp_path / "ok.feature").write_text("Feature: fine\n  Scenario: a\n    Given a healthy XGlobalDatabase\n")
    (tmp_path / "bad.feature").write_text((CORPUS / "features" / "unknown-keyword.feature").read_text())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-p", "conftest", "--rootdir", str(ROOT),
                             "-c", str(ROOT / "pyproject.toml"), "-q", "-p", "no:cacheprovider"],
                            capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env)
    assert result.returncode == 4, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"ERROR: {tmp_path / 'bad.feature'}:2: Scenario 'bogus' has no steps ('Perhaps the platform "
                     "fails over' is not a step: steps start with Given, When, Then, And or But); a scenario without "
                     "steps proves nothing"], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
