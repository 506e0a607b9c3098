"""The pytest plugin of xpchaos (entry point ``pytest11``): the Gherkin suites of any repository where xpchaos is
installed, with the step library of ``xpchaos.steps``.

- The step library is registered as plugins; ``world`` carries one scenario's state from step to step.
- ``pytest features/`` runs against sandboxes it starts itself (fast timings, one per profile and primary, on
  first use, stopped at the end), unless ``--target FILE`` points at a real platform: then the scenarios run
  against it, and those needing something else (the stock profile, another primary) are skipped with the reason.
- An unknown step fails its scenario naming the step and the closest known steps.
- ``@slow`` scenarios run only when selected (``-m slow``, or ``-m "slow or ci"``).
- With ``XPCHAOS_REPORT_DIR`` set (``xpchaos gate`` sets it) each scenario's steps, outcome and journal are
  recorded there (``xpchaos.steps.recording``).
- Feature files matching the ini option ``xpchaos_feature_check_ignore`` (globs relative to the rootdir) are not
  checked before the run: a repository's own corpus of deliberately bad files.
"""

from __future__ import annotations

import difflib
import fnmatch
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.run import sandbox_process
from xpchaos.steps import feature_files
from xpchaos.steps.world import World

pytest_plugins = ["xpchaos.steps.given", "xpchaos.steps.when", "xpchaos.steps.then", "xpchaos.steps.recording"]

TAGS = {"ci": "the resilience gate's suite: quick scenarios on every change",
        "gameday": "scenarios for scheduled game days",
        "aws": "scenarios that take AWS away", "azure": "scenarios that take Azure away",
        "slow": "longer than a few seconds; runs only when selected with -m"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("xpchaos_feature_check_ignore", type="linelist", default=[],
                  help="globs (relative to the rootdir) of feature files not checked before the run")
    group = parser.getgroup("xpchaos")
    group.addoption("--target", dest="xpchaos_target", default=None, metavar="FILE",
                    help="run the Gherkin scenarios against this target file (a real platform) instead of "
                         "sandboxes started for the session")


def _feature_files(config: pytest.Config) -> list[Path]:
    """The feature files this session may bind: under the paths it collects, the bad-input corpus aside."""
    found: set[Path] = set()
    root = config.rootpath
    ignored = config.getini("xpchaos_feature_check_ignore")
    for arg in config.args:
        path = Path(str(arg).split("::")[0]).resolve()
        files = path.rglob("*.feature") if path.is_dir() else \
            [path] if path.suffix == ".feature" else path.parent.glob("*.feature")
        found.update(f for f in files if not _ignored(f, root, ignored))
    return sorted(found)


def _ignored(path: Path, root: Path, globs: list[str]) -> bool:
    try:
        relative = path.relative_to(root)
    except ValueError:
        return False
    return any(relative.match(glob) or fnmatch.fnmatch(str(relative), glob) for glob in globs)


def pytest_configure(config: pytest.Config) -> None:
    for tag, meaning in TAGS.items():
        config.addinivalue_line("markers", f"{tag}: {meaning}")
    try:  # before pytest-bdd parses them: one line per bad file, exit 4, nothing run
        feature_files.check_all(_feature_files(config))
    except feature_files.FeatureFileError as exc:
        raise pytest.UsageError(str(exc)) from None
    path = config.getoption("xpchaos_target")
    if path:
        from xpchaos.core import kube

        try:
            kube.check_context(targets.load(path))
        except (targets.TargetError, kube.ContextNotAllowed) as exc:
            raise pytest.UsageError(f"--target: {exc}") from None
        except Exception as exc:  # an unreadable kubeconfig: name the problem, not its content
            raise pytest.UsageError(f"--target: {path}: cannot read its kubeconfig ({type(exc).__name__})") from None


ON_REQUEST = ("slow", "soak")  # markers that run only when -m names them


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = config.getoption("markexpr") or ""
    for marker in ON_REQUEST:
        if marker in selected:
            continue
        skip = pytest.mark.skip(reason=f"@{marker}: select it with -m {marker}")
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(skip)


class SandboxPlatforms:
    """Sandboxes for the session, one per (profile, primary, speed, DNS mode), started on first use."""

    def __init__(self, root: Path, user_target: Path | None) -> None:
        self.root = root
        self.user_target = user_target
        self.started: dict[tuple[str, ...], Path] = {}

    def target_for(self, profile: str, primary: str, speed: str = "fast", dns: str = "function") -> Path:
        key = (profile, primary, speed) if dns == "function" else (profile, primary, speed, dns)
        if key not in self.started:
            state_dir = self.root / "-".join(key)
            wiring = [] if dns == "function" else ["--dns", dns]
            try:
                info, _child = sandbox_process.start(
                    state_dir, extra_args=["--profile", profile, "--primary", primary, "--speed", speed, *wiring])
            except sandbox_process.SandboxError as exc:
                pytest.fail(f"cannot start the {profile} sandbox serving from {primary}: {exc}", pytrace=False)
            self.started[key] = Path(info.target or state_dir / "target.yaml")
        return self.started[key]

    def stop(self) -> None:
        for key in list(self.started):
            sandbox_process.stop(self.root / "-".join(key))
        self.started.clear()


@pytest.fixture(scope="session")
def xpchaos_platforms(request: pytest.FixtureRequest) -> Iterator[SandboxPlatforms]:
    user = request.config.getoption("xpchaos_target")
    with tempfile.TemporaryDirectory(prefix="xpchaos-features-") as root:
        platforms = SandboxPlatforms(Path(root), Path(user) if user else None)
        try:
            yield platforms
        finally:
            platforms.stop()


@pytest.fixture
def world(xpchaos_platforms: SandboxPlatforms, request: pytest.FixtureRequest) -> World:
    from xpchaos.steps import (
        recording,  # a plugin (pytest_plugins): imported by pytest first, so it is assert-rewritten
    )

    return World(xpchaos_platforms, journal_path=recording.journal_path(request.node.nodeid))


class UnknownStep(InputError):
    """A step of a feature file that no step definition matches."""


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: object, scenario: object,
                                      step: object, exception: Exception) -> None:
    from xpchaos.steps import catalogue

    known = catalogue.patterns()
    text = f"{step.type.capitalize()} {step.name}"  # type: ignore[attr-defined]
    closest = difflib.get_close_matches(text, known, n=3, cutoff=0.3) or known[:3]
    where = f"{scenario.feature.rel_filename}:{step.line_number}"  # type: ignore[attr-defined]
    raise UnknownStep(f"unknown step {text!r} ({where}); closest known steps: " + "; ".join(closest)
                      + " (all of them: `xpchaos steps`)")
