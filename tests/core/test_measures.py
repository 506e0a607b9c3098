"""The recovery-time measures (xpchaos.core.measures) and the axis both report charts share (xpchaos.report.axis)."""

from __future__ import annotations

import pytest

from xpchaos.core import measures
from xpchaos.report.axis import Scale, round_up, seconds


def test_the_measures_are_the_probes_keys() -> None:
    assert [m.key for m in measures.MEASURES] == ["time_to_detect_s", "time_to_failover_s",
                                                  "time_to_dns_convergence_s", "time_to_client_visible_s"]
    assert [m.column for m in measures.MEASURES] == ["detect_s", "failover_s", "dns_s", "dns_client_s"]  # history
    assert measures.judged_by("client-visible") is measures.DNS_CLIENT
    assert measures.judged_by(None) is measures.DNS  # a journal from before there were two clocks
    times = {"time_to_detect_s": 4, "time_to_failover_s": None, "time_to_dns_convergence_s": True}
    assert [m.of(times) for m in measures.MEASURES] == [4.0, None, None, None]  # JSON may hold anything
    assert measures.DETECT.of(None) is None


@pytest.mark.parametrize(("value", "places", "text"), [
    (12.345, 1, "12.3 s"), (3.0, 2, "3.00 s"), (90, 1, "90.0 s"), (None, 1, "-"), ("12", 1, "-"), (False, 2, "-")])
def test_a_duration_in_words(value: object, places: int, text: str) -> None:
    assert measures.seconds(value, places) == text


def test_the_axis_maps_seconds_to_pixels_both_ways() -> None:
    across = Scale(-2.0, 8.0, 250, 1076)
    assert across.at(-2.0) == 250 and across.at(8.0) == 1076 and across.at(3.0) == pytest.approx(663)
    upwards = Scale(0.0, 60.0, 200, 16)  # a y axis: 0 s at the bottom
    assert upwards.at(0.0) == 200 and upwards.at(60.0) == 16 and upwards.at(30.0) == pytest.approx(108)


def test_ticks_fall_on_round_seconds() -> None:
    assert Scale(-2.1, 8.3, 0, 1).ticks() == [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert Scale(-0.3, 95.0, 0, 1).ticks() == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert Scale(0.0, round_up(97.2, 4), 0, 1).ticks(4) == [0, 30, 60, 90, 120]
    assert round_up(1.08, 4) == 1.5 and round_up(48.6, 4) == 60


@pytest.mark.parametrize(("value", "text"), [(90, "90"), (3.693, "3.69"), (0.5, "0.5"), (-0.001, "0"), (0, "0")])
def test_tick_labels(value: float, text: str) -> None:
    assert seconds(value) == text
