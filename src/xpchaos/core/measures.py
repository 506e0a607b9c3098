"""The recovery-time measures of a failover: the time to detect the loss, to fail over and to DNS convergence on
two clocks, each in seconds after the fault.

DNS converges twice. Authoritatively, when every authoritative nameserver answers the new target; for clients,
when no resolver may still serve the old answer: for each (record, nameserver), the last instant the old answer was
served plus the TTL it was served with, the latest of these. The target's ``slos.dnsClock`` says which of the two
its SLO judges (``CLOCKS``); both are always measured.

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
DNS = Measure("time_to_dns_convergence_s", "time to DNS convergence (authoritative)", "DNS auth", "dns_s",
              ("dns_secondary",))
DNS_CLIENT = Measure("time_to_client_visible_s", "time to DNS convergence (client-visible)", "DNS client",
                     "dns_client_s", ("dns_secondary",))
MEASURES = (DETECT, FAILOVER, DNS, DNS_CLIENT)
# the target's slos.dnsClock -> the DNS measure its SLO judges
CLOCKS = {"authoritative": DNS, "client-visible": DNS_CLIENT}
DEFAULT_CLOCK = "client-visible"


def judged_by(clock: str | None) -> Measure:
    """The DNS measure a verdict's ``dns_clock`` names (journals written before there were two: authoritative)."""
    return CLOCKS.get(clock or "authoritative", DNS)


def number(value: Any) -> float | None:
    """``value`` as seconds when it is a number (JSON may hold anything); else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def seconds(value: Any, places: int = 1) -> str:
    """A duration as every text output writes it: "12.3 s" (``places`` decimals); "-" when there is none."""
    found = number(value)
    return "-" if found is None else f"{found:.{places}f} s"
