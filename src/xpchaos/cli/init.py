"""``xpchaos init [DIR]``: scaffold a platform team's own repository from the copies shipped with xpchaos.

It writes the project's Gherkin scenarios (with the test module that binds them to the step library of the pytest
plugin), the Chaos Toolkit experiments, the CI workflow of the resilience gate, the game-day CronJob manifests with
their image's Dockerfile, and a commented target template. The target the commands use stays the sandbox's
(``.xpchaos/sandbox/target.yaml``) until the team copies the template to ``xpchaos.yaml``: a template filled in with
example names must never be taken for a real platform. Existing files are never overwritten without ``--force``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape

from xpchaos import __version__
from xpchaos.run import sources

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
TEMPLATE = "xpchaos.example.yaml"
NEXT_COMMANDS = ("xpchaos sandbox up --detach --speed fast", "pytest features/ -m ci",
                 "xpchaos gate --target .xpchaos/sandbox/target.yaml --report-dir reports/gate")


@dataclass(frozen=True)
class Part:
    """Files of one data folder of the package, and where they go in the new repository."""

    source: str  # a folder of the installed package: features, experiments, deploy/ci, ...
    pattern: str
    destination: str  # relative to DIR
    what: str

    def files(self) -> list[tuple[Path, Path]]:
        """(shipped file, path relative to DIR) for every file of the part."""
        folder = sources.shipped_dir(self.source)
        return [(path, Path(self.destination) / path.name) for path in sorted(folder.glob(self.pattern))
                if path.is_file() and path.suffix != ".pyc"]


PARTS = (
    Part("scaffold", TEMPLATE, ".", "a commented target template: each field, for your own platform"),
    Part("features", "*", "features", "the Gherkin scenarios and the test module that binds them"),
    Part("experiments", "*", "experiments", "the Chaos Toolkit experiments, one per fault"),
    Part("deploy/ci", "resilience-gate.yml", ".github/workflows", "the CI workflow: the resilience gate"),
    Part("deploy/kubernetes", "*.yaml", "deploy/kubernetes", "the weekly game-day CronJob, its RBAC and target"),
    Part("deploy", "Dockerfile", "deploy", "the game-day image the CronJob runs"),
    Part("deploy", "README.md", "deploy", "how to deploy the workflow and the CronJob"),
)


def plan() -> list[tuple[Part, Path, Path]]:
    """Every file ``xpchaos init`` writes: (part, shipped file, path relative to DIR)."""
    return [(part, source, relative) for part in PARTS for source, relative in part.files()]


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    sys.exit(2)


def _refusal(directory: Path, existing: list[Path]) -> str:
    more = f" (and {len(existing) - 1} more of the files it writes)" if len(existing) > 1 else ""
    return f"{directory / existing[0]}: already exists{more}; nothing was written: pass --force to overwrite"


def _report(directory: Path, written: list[tuple[Part, Path, Path]]) -> None:
    console.print(f"[bold]Scaffolded {escape(str(directory))}[/bold] for xpchaos {__version__}:", highlight=False)
    for part in PARTS:
        mine = [relative for owner, _source, relative in written if owner is part]
        shown = str(mine[0]) if len(mine) == 1 else f"{part.destination}/ ({len(mine)} files)"
        console.print(f"  {shown:<40} {part.what}", markup=False, highlight=False)
    console.print(f"\nTarget: the running sandbox's, .xpchaos/sandbox/target.yaml (every command's default while "
                  f"there is no xpchaos.yaml). For your own platform, copy {TEMPLATE} to xpchaos.yaml and fill it "
                  "in: each field is described there.", markup=False, highlight=False)
    here = "" if directory.resolve() == Path.cwd().resolve() else f", in {directory}"
    console.print(f"\nNext{here}:", markup=False, highlight=False)
    for command in NEXT_COMMANDS:
        console.print(f"  {command}", markup=False, highlight=False)


@click.command()
@click.argument("directory", metavar="[DIR]", default=".", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist (by default nothing is written "
                                            "when any would be replaced).")
def init(directory: Path, force: bool) -> None:
    """Scaffold a platform team's repository in DIR (default: here) to prove its own platform with xpchaos.

    \b
    Writes, from the copies shipped with xpchaos:
      xpchaos.example.yaml                   a commented target template, each field described
      features/                              the Gherkin scenarios and test_scenarios.py, which binds them
      experiments/                           the Chaos Toolkit experiments, one per fault
      .github/workflows/resilience-gate.yml  the CI workflow: the resilience gate on every push
      deploy/kubernetes/, deploy/Dockerfile  the weekly game-day CronJob, its RBAC, target and image

    The commands keep using the running sandbox's target (.xpchaos/sandbox/target.yaml) until xpchaos.yaml
    exists: copy the template to xpchaos.yaml and fill it in for your platform. Then prints the next three
    commands. Refuses (exit 2, nothing written) when any of these files exists, unless --force.
    """
    if directory.exists() and not directory.is_dir():
        _fail(f"{directory}: not a directory; give a directory for the new repository (default: here)")
    files = plan()
    existing = [relative for _part, _source, relative in files if (directory / relative).exists()]
    if existing and not force:
        _fail(_refusal(directory, existing))
    written = []
    try:
        for part, source, relative in files:
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(source.read_bytes())
            written.append((part, source, relative))
    except OSError as exc:
        _fail(f"{directory / relative}: cannot write it ({exc.strerror or type(exc).__name__}); "
              f"{len(written)} of {len(files)} files were written")
    _report(directory, written)


def register(group: click.Group) -> None:
    group.add_command(init)
