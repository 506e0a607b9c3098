"""``xpchaos preflight`` run in-process, as the preflight tests read it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from xpchaos.cli.main import main


def run_preflight(target: Path | str, *args: str) -> Result:
    return CliRunner().invoke(main, ["preflight", "--target", str(target), *args])


def findings(target: Path | str) -> tuple[int, list[dict[str, Any]]]:
    result = run_preflight(target, "-o", "json")
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.stderr)
    return result.exit_code, json.loads(result.stdout)
