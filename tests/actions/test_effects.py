"""A fault's first effect and when it is due: the longest ``--poll`` of the provider's pods plus one backoff."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from xpchaos.actions import effects


def _pod(*args: str) -> Any:
    return SimpleNamespace(spec=SimpleNamespace(containers=[SimpleNamespace(args=list(args))]))


@pytest.mark.parametrize(("pods", "due", "poll"), [
    ([_pod("--poll=1m")], 90.0, "1m"),  # 60 s poll + 30 s backoff cap
    ([_pod("--poll", "10s"), _pod("--poll=2m", "--debug")], 150.0, "2m"),  # the slowest pod decides
    ([_pod("--debug")], 630.0, "10m (assumed: upjet's default)"),  # no --poll: upjet's 10m
    ([_pod("--poll=2s")], 4.0, "2s"),  # the backoff never exceeds one poll
])
def test_due_is_the_slowest_poll_plus_one_backoff(pods: list[Any], due: float, poll: str) -> None:
    found = effects.first_effect(pods, "aws", "is it enforced?")
    assert (found["step"], found["side"], found["due_s"], found["poll"]) == ("detect", "aws", due, poll)
    assert found["unseen"] == f"no provider error within {effects.go_duration(due)}: is it enforced?"


@pytest.mark.parametrize(("seconds", "text"), [(630, "10m30s"), (2, "2s"), (1.5, "1.5s"), (120, "2m")])
def test_go_duration(seconds: float, text: str) -> None:
    assert effects.go_duration(seconds) == text


def test_a_change_applied_is_due_as_the_others_and_asks_its_own_question() -> None:
    found = effects.applied([_pod("--poll=1m")], "aws", ["HealthCheck hc status.atProvider.invertHealthcheck == true"],
                            "was its ProviderConfig working?")
    assert (found["step"], found["signal"], found["side"], found["due_s"]) == ("applied", "at_provider", "aws", 90.0)
    assert found["shows"] == ["HealthCheck hc status.atProvider.invertHealthcheck == true"]
    assert found["unseen"] == "the provider did not apply the change within 1m30s: was its ProviderConfig working?"
