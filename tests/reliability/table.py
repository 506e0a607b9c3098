"""README's "Reliability" table, from what ``make reliability`` measured: ``python -m tests.reliability.table DIR``.

DIR holds the figures the reliability tests recorded (``figures.record``) and the ``junit*.xml`` of the same
pytest runs (for the suites whose figure is "every case passed": the bad-input corpus, RBAC, secrets and TLS). The table
replaces what stands between the two markers in README.md. A figure that was not measured reads "not measured",
so a table can never show numbers from an older run.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
SUITES = {  # junit "classname prefix[::test name prefix]" -> what the row says those tests prove
    "tests.corpus": "Bad input (tests/corpus): each refused in one line, exit 2 (pytest 4), cluster unchanged",
    "tests.deploy.rbac": "RBAC (tests/deploy/rbac), enforced: 3 experiments, a game day, discover and preflight "
                         "as the ServiceAccounts with zero denials, every rule used; any one rule removed: one "
                         "line, exit 2, nothing changed",
    "tests.reliability.test_restore_anywhere": "Restore from anywhere: SIGKILL during each fault, then `xpchaos "
                                               "restore --target` from another directory and HOME: the cluster as "
                                               "before",
    "tests.probes.test_recorder_stalls": "Stalled watches: a run through silent streams reads right or error, never a "
                                         "false not resilient; each stall counted",
    "tests.probes.test_recorder_scope": "Bounded observation: at 200 Events/s of noise no unrelated Event reaches the "
                                        "journal; a warm standby's promotion is the serving side switching",
    "tests.reliability.test_api_retry": "Honest retries: a create answered 504 after it was applied is ours, a 409 "
                                        "not ours stays a conflict, a write answered 500 is asked once",
    "tests.actions.test_network": "Network fault: on a post-DNAT CNI the keep read from the cluster keeps the "
                                  "provider reporting (the ClusterIP keep hides it); no enforcement: fault-not-applied",
    "tests.run.gameday.test_gameday::test_while_a_run_holds": "One fault at a time: while a run holds the target, "
                                                             "every other run exits 2 and changes nothing",
    "tests.test_house_rules": "No `shell=True`, TLS verification never off, no `sandbox` import in harness code",
    "tests.actions.test_undo_log": "Undo log: owner-only (0600), durable, never echoes a record's content",
    "tests.run.gate.test_gate::test_blueprint_passes_and_no_credential":
        "A gate run's every file and output searched for a planted credential canary (raw, base64): not found",
}


def _load(directory: Path, name: str) -> dict[str, Any] | None:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _largest(directory: Path, prefix: str) -> dict[str, Any] | None:
    """The biggest variant measured (the soak's 30 runs over make test's few)."""
    found = [json.loads(p.read_text()) for p in directory.glob(f"{prefix}-*.json")]
    return max(found, key=lambda f: f.get("runs", 0)) if found else None


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _junit(directory: Path) -> Counter[tuple[str, str]]:
    """(suite prefix, passed|failed|skipped) -> tests, from junit.xml."""
    counts: Counter[tuple[str, str]] = Counter()
    cases = [case for path in sorted(directory.glob("junit*.xml"))
             for case in ET.parse(path).getroot().iter("testcase")]
    for case in cases:
        classname, name = case.get("classname", ""), case.get("name", "")
        prefix = next((p for p in SUITES if classname.startswith(p.partition("::")[0])
                       and name.startswith(p.partition("::")[2])), None)
        if prefix is None:
            continue
        state = "failed" if case.find("failure") is not None or case.find("error") is not None else \
            "skipped" if case.find("skipped") is not None else "passed"
        counts[(prefix, state)] += 1
    return counts


def _row(what: str, found: dict[str, Any] | None, measured: Callable[[dict[str, Any]], str],
         holds: Callable[[dict[str, Any]], bool]) -> tuple[str, str, str]:
    if found is None:
        return what, "not measured", "—"
    return what, measured(found), "yes" if holds(found) else "NO"


def rows(directory: Path) -> list[tuple[str, str, str]]:
    """(what, measured, holds) per row."""
    def nothing_left(f: dict[str, Any]) -> bool:
        return f["differences"] == 0 and not f["outstanding_undo_records"]

    out = [
        _row("SIGINT/SIGTERM at random moments of `chaos run` (3 experiments); every object compared",
             _largest(directory, "interruptions"),
             lambda f: f"{f['runs']} runs ({_counts(f['signals'])}); signal sent during {_counts(f['landed'])}; "
                       f"{f['differences']} differences, {f['outstanding_undo_records']} undo records left",
             nothing_left),
        _row("SIGKILL at random moments, then `xpchaos restore`; every object compared",
             _largest(directory, "sigkill"),
             lambda f: f"{f['runs']} runs; {f['runs_left_faulted_before_restore']} left a fault behind, "
                       f"{f['restored_records']} undo records restored; {f['differences']} differences after",
             nothing_left),
        _row("API faults injected into the harness's requests (blueprint must pass, stock must fail, or `error`)",
             _largest(directory, "api-faults"),
             lambda f: f"{f['runs']} runs; {f['injected']} faults ({_counts(f['injected_by_fault'])}); verdicts "
                       f"{_counts(f['verdicts'])}; {f['false_verdicts']} false; {f['retries']} retries "
                       f"({_counts(f['retries_by_reason'])}); {f['runs_left_changed']} runs left a change",
             lambda f: f["false_verdicts"] == 0 and f["injected"] >= 200 and not f["runs_left_changed"]),
        _row("The gate per DNS wiring (function, provider, route53-failover, external-dns, traffic-manager) x the "
             "4 faults x blueprint/stock: the verdict each wiring implies",
             _load(directory, "dns-mode-table"),
             lambda f: f"{f['as_expected']} of {f['rows']} rows as implied",
             lambda f: f["rows"] >= 40 and f["as_expected"] == f["rows"]),
    ]
    junit = _junit(directory)
    for prefix, what in SUITES.items():
        passed, failed = junit[(prefix, "passed")], junit[(prefix, "failed")]
        tests = f"{passed} test{'s' if passed != 1 else ''} passed, {failed} failed"
        out.append((what, tests if passed or failed else "not measured",
                    "—" if not (passed or failed) else "yes" if not failed else "NO"))
    return out


def table(directory: Path) -> str:
    lines = ["| What | Measured | Holds |", "|---|---|---|"]
    lines += [f"| {what} | {measured} | {holds} |" for what, measured, holds in rows(directory)]
    return "\n".join(lines)


def replace(readme: str, new_table: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} section to fill")
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{new_table}\n{END}{tail}"


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else ROOT / "reports" / "reliability"
    readme = ROOT / "README.md"
    found = rows(directory)
    readme.write_text(replace(readme.read_text(), table(directory)))
    print(table(directory))
    return 1 if any(holds == "NO" for _, _, holds in found) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
