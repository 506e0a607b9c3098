"""Where a command's feature files and experiments come from: the path given, else the working directory, else the
copies shipped with xpchaos (the package data ``xpchaos.features`` and ``xpchaos.experiments``).

A platform team's repository holds its own ``features/`` and ``experiments/`` (``xpchaos init`` writes them). Where
it has none, the built-in experiments and scenarios still run from the installed package, and the commands say so:
``xpchaos run revoke-credentials`` and ``xpchaos run experiments/revoke-credentials.json`` both find the shipped
copy when there is no ``experiments/revoke-credentials.json`` here. Nothing is looked up relative to the source
tree: only the package's own data folders, through ``importlib.resources``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

EXPERIMENTS_DIR = Path("experiments")
FEATURES_DIR = Path("features")
EXPERIMENT_SUFFIXES = (".json", ".yaml", ".yml")  # what ``xpchaos.run.runner.load_experiment`` reads


@dataclass(frozen=True)
class Found:
    """A file or folder, and whether it is the copy shipped with xpchaos rather than the user's own."""

    path: Path
    asked: str
    shipped: bool = False

    def note(self) -> str | None:
        """One line saying which copy a command uses, when that is not simply the path it was given."""
        if self.shipped:
            return (f"{self.asked}: using the copy shipped with xpchaos ({self.path}); there is none in "
                    f"{Path.cwd()}")
        if str(self.path) != self.asked:
            return f"{self.asked}: using {self.path} (working directory)"
        return None


def shipped_dir(name: str) -> Path:
    """A data folder of the installed package: ``experiments``, ``features``, ``deploy``, ``scaffold``."""
    root = resources.files("xpchaos")
    if not isinstance(root, Path):  # a zipped install: the data cannot be handed to pytest or chaoslib as files
        raise FileNotFoundError(f"xpchaos is installed as an archive ({root}); install it as files (pip install)")
    return root / name


def builtin_experiments() -> list[str]:
    """The file names of the experiments shipped with xpchaos."""
    return sorted(p.name for p in shipped_dir("experiments").glob("*.json"))


def _candidates(path: Path) -> list[Path]:
    """The path as given, then with each experiment suffix when it has none (``revoke-credentials``)."""
    if path.suffix in EXPERIMENT_SUFFIXES:
        return [path]
    return [path, *(path.with_name(path.name + suffix) for suffix in EXPERIMENT_SUFFIXES)]


def experiment(asked: str | Path) -> Found:
    """The experiment file for ``asked``: the path as given; else ``experiments/NAME`` in the working directory for
    a bare name; else, for a bare name or ``experiments/NAME``, the shipped copy of a built-in experiment. An
    experiment found nowhere comes back as given, for the loader to refuse in one line."""
    path = Path(asked)
    local_only = path.is_absolute() or path.parent not in (Path("."), EXPERIMENTS_DIR)
    for candidate in _candidates(path):
        if candidate.is_file():
            return Found(candidate, str(asked))
        if candidate.parent == Path(".") and (EXPERIMENTS_DIR / candidate).is_file():
            return Found(EXPERIMENTS_DIR / candidate, str(asked))
    if not local_only:
        for candidate in _candidates(path):
            shipped = shipped_dir("experiments") / candidate.name
            if shipped.is_file():
                return Found(shipped, str(asked), shipped=True)
    return Found(path, str(asked))


def features(asked: Path | None = None) -> Found:
    """The feature files to run: the folder given; else ``features/`` in the working directory; else the scenarios
    shipped with xpchaos (with the test module that binds them)."""
    if asked is not None:
        return Found(asked, str(asked))
    if FEATURES_DIR.is_dir():
        return Found(FEATURES_DIR, str(FEATURES_DIR))
    return Found(shipped_dir("features"), str(FEATURES_DIR), shipped=True)
