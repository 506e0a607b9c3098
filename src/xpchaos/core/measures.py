"""The recovery-time measures of a failover: the time to detect the loss, to fail over and to DNS convergence,
each in seconds after the fault.

The failover probe writes them into its verdict under ``Measure.key`` (and so into every journal); the run report,
the HTML report, the gate's summary, the history (a column each) and the chat messages read them from there. What
each is called and how a value is written is declared here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measure:
    key: str  # in the verdict's ``times`` and the journal
    label: str  # in a sentence or a wide column
    short: str  # in a narrow column or a one-line summary
    column: str  # the history's column
    steps: tuple[str, ...]  # the failover steps whose (largest) deadline it is measured against

    def of(self, times: dict[str, Any] | None) -> float | None:
        """This measure in a verdict's ``times``: seconds, or None when it was not measured."""
        return number((times or {}).get(self.key))


DETECT = Measure("time_to_detect_s", "time to detect", "detect", "detect_s", ("detect",))
FAILOVER = Measure("time_to_failover_s", "time to fail over", "fail over", "failover_s", ("promote", "xr_recovers"))
DNS = Measure("time_to_dns_convergence_s", "time to DNS convergence", "DNS", "dns_s", ("dns_secondary",))
MEASURES = (DETECT, FAILOVER, DNS)


def number(value: Any) -> float | None:
    """``value`` as seconds when it is a number (JSON may hold anything); else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def seconds(value: Any, places: int = 1) -> str:
    """A duration as every text output writes it: "12.3 s" (``places`` decimals); "-" when there is none."""
    found = number(value)
    return "-" if found is None else f"{found:.{places}f} s"
