"""The order of signals in a Then step: a change that began before the step it must follow fails the step, unless
the two are closer than DNS observation can tell apart."""

from __future__ import annotations

from typing import Any

import pytest

from xpchaos.core.outcome import Outcome
from xpchaos.probes import sequence

XR_READY, DNS = "the XGlobalDatabase is Ready=True", "DNS answers azure"


def passed(dns_since: float, xr_at: float = 1.69) -> dict[str, Any]:
    steps = [{"name": XR_READY, "since_s": 1.17, "at_s": xr_at}, {"name": DNS, "since_s": dns_since, "at_s": 1.7}]
    return {"outcome": Outcome.PASSED, "steps": steps}


@pytest.mark.parametrize("dns_since", [1.69, 1.70, 1.68, 1.69 - sequence.ORDER_RESOLUTION_S + 0.001])
def test_a_change_within_the_observation_resolution_is_in_order(dns_since: float) -> None:
    assert sequence.check_order(passed(dns_since))["outcome"] == Outcome.PASSED


def test_a_change_that_clearly_came_first_fails_at_that_step() -> None:
    verdict = sequence.check_order(passed(dns_since=1.0))
    assert verdict["outcome"] == Outcome.FAILED and verdict["failed_step"] == DNS
    assert verdict["reason"] == (f"{DNS}: began 1.00 s after the fault, before {XR_READY} (1.69 s): not in this order")


def test_a_state_that_held_all_along_is_not_a_change() -> None:
    steps = [{"name": XR_READY, "since_s": 1.0, "at_s": 1.69},
             {"name": "azure managed resources are Synced and Ready", "since_s": 0.0, "at_s": 1.69}]
    assert sequence.check_order({"outcome": Outcome.PASSED, "steps": steps})["outcome"] == Outcome.PASSED
