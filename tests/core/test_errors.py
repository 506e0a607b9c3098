"""Every exception class xpchaos declares derives from XpchaosError, and the command line turns bad input
(InputError), from whichever command, into one line on stderr and exit code 2, in one place."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import click
from chaoslib.exceptions import ActivityFailed
from click.testing import CliRunner

import xpchaos
from xpchaos.actions._common import FaultError
from xpchaos.cli.main import main
from xpchaos.cli.output import Commands
from xpchaos.core.errors import InputError, XpchaosError

# not harness code: the sandbox runs as a process of its own; __main__ runs the command line when imported; the rest
# are folders of data
APART = ("xpchaos.sandbox", "xpchaos.__main__", "xpchaos.experiments", "xpchaos.features", "xpchaos.deploy",
         "xpchaos.scaffold")
# a KeyboardInterrupt on purpose: as an Exception, any `except Exception` on its way would swallow the Ctrl-C
INTERRUPTS = {"xpchaos.run.runner.RunInterrupted"}


def declared_exceptions() -> dict[str, type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(xpchaos.__path__, "xpchaos."):
        if info.name.startswith(APART):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_exception_of_xpchaos_derives_from_xpchaos_error() -> None:
    found = declared_exceptions()
    assert len(found) > 15 and set(found) >= INTERRUPTS, sorted(found)
    assert sorted(n for n, cls in found.items() if not issubclass(cls, XpchaosError) and n not in INTERRUPTS) == []
    assert all(issubclass(found[n], KeyboardInterrupt) for n in INTERRUPTS)


def test_a_fault_error_is_still_an_activity_failure_for_chaos_toolkit() -> None:
    assert issubclass(FaultError, ActivityFailed) and issubclass(FaultError, XpchaosError)


def test_bad_input_from_any_command_is_one_line_and_exit_2() -> None:
    @click.group(cls=Commands)
    def group() -> None:
        """A group like ``xpchaos``."""

    @group.command()
    def bad() -> None:
        raise InputError("t.yaml: providers.aws.role: 'primry' is not one of primary, secondary")

    @group.group()
    def nested() -> None:
        """A sub-group, like ``xpchaos sandbox``."""

    @nested.command()
    def deeper() -> None:
        raise InputError("deeper: what to fix")

    result = CliRunner().invoke(group, ["bad"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: t.yaml: providers.aws.role: 'primry' is not one of primary, secondary\n"
    result = CliRunner().invoke(group, ["nested", "deeper"])
    assert (result.exit_code, result.stderr) == (2, "error: deeper: what to fix\n")


def test_xpchaos_report_refuses_a_file_that_is_no_journal(tmp_path: Path) -> None:
    not_a_journal = tmp_path / "journal.json"
    not_a_journal.write_text(json.dumps({"title": "no run"}))
    result = CliRunner().invoke(main, ["report", str(not_a_journal)])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {not_a_journal}: not a Chaos Toolkit")
    assert not (tmp_path / "journal.html").exists()


def test_a_bug_is_not_dressed_as_bad_input() -> None:
    @click.group(cls=Commands)
    def group() -> None:
        """A group like ``xpchaos``."""

    @group.command()
    def broken() -> None:
        raise KeyError("a bug")

    result = CliRunner().invoke(group, ["broken"])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
