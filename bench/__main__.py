"""``python -m bench [NAME ...]``: run the benchmarks (all by default), print a table, write the JSON results.

Names: watch, list, fanout, memory (the API server), detection, dns_convergence, recorder_memory, recorder_noise
(the probes), platform_start (``sandbox up --platform realistic``), discover (``xpchaos discover`` on 500 XRs).
Results go to ``bench/results/latest.json`` (git-ignored) unless ``--output`` says otherwise;
copy the figures of a full run into ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from . import (
    detection,
    discover,
    dns_convergence,
    fanout,
    list_latency,
    memory,
    platform_start,
    recorder_memory,
    recorder_noise,
    watch_latency,
)
from .common import machine

BENCHMARKS: dict[str, ModuleType] = {
    "watch": watch_latency,
    "list": list_latency,
    "fanout": fanout,
    "memory": memory,
    "detection": detection,
    "dns_convergence": dns_convergence,
    "recorder_memory": recorder_memory,
    "recorder_noise": recorder_noise,
    "platform_start": platform_start,
    "discover": discover,
}
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"


def _print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("benchmark", "median", "p99", "notes / target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for row in [header, None, *rows]:
        if row is None:
            print(line)
            continue
        print("  ".join(cell.ljust(w) if i != 1 and i != 2 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the JSON results")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    document: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "benchmarks": {},
    }
    rows: list[tuple[str, str, str, str]] = []
    failed = False
    suite_start = time.perf_counter()
    for name in names:
        module = BENCHMARKS[name]
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            result = module.run()
        except Exception as exc:  # one benchmark failing must not lose the others' figures
            traceback.print_exc()
            document["benchmarks"][name] = {"error": repr(exc)}
            rows.append((f"{name}: FAILED", "", "", repr(exc)[:80]))
            failed = True
            continue
        result["wall_s"] = round(time.perf_counter() - start, 1)
        document["benchmarks"][name] = result
        rows.extend(module.rows(result))
        print(f"[bench] {name} done in {result['wall_s']} s", file=sys.stderr, flush=True)
    document["wall_s"] = round(time.perf_counter() - suite_start, 1)
    _print_table(rows)
    print(f"total {document['wall_s']} s on {document['machine']['cpus']} CPUs "
          f"({document['machine']['cpu']}); results in {args.output}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
