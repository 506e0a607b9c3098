"""The time budget (``xpchaos.run.preflight_budget``): its arithmetic, and on a route53-failover sandbox with
Route53's standard checks (30 s x 3) and a 60 s TTL, started as a user would (``xpchaos sandbox up --dns ...
--timing ...``), that 90 s cannot be met. Preflight only reads: the sandbox runs at real speed, nothing waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.run.preflight.helpers import findings, run_preflight
from tests.support import sandboxes
from xpchaos.run.preflight import FAIL, OK
from xpchaos.run.preflight_budget import Budget, Term

STANDARD_CHECKS = ("--timing", "health_interval=30", "--timing", "health_threshold=3", "--timing", "dns_ttl=60")


@pytest.fixture(scope="module")
def route53_failover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state_dir = tmp_path_factory.mktemp("sandbox-route53-failover")
    box = sandboxes.up(state_dir, "--profile", "blueprint", "--speed", "real", "--dns", "route53-failover",
                       *STANDARD_CHECKS)
    assert box.target_path is not None
    try:
        yield box.target_path
    finally:
        sandboxes.down(state_dir)


@pytest.fixture(scope="module")
def found(route53_failover: Path) -> tuple[int, list[dict[str, Any]]]:
    """Preflight's findings, read once (it only reads: every test sees the same cluster)."""
    return findings(route53_failover)


def test_sandbox_up_passes_the_dns_mode_and_the_new_timings(route53_failover: Path) -> None:
    target = route53_failover.read_text()
    assert "dns: route53-failover" in target
    for line in ("health_interval: 30.0", "health_threshold: 3", "dns_ttl: 60"):
        assert line in target, line


def test_standard_health_checks_and_a_minute_of_ttl_cannot_meet_90_s(found: tuple[int, list[dict[str, Any]]]
                                                                      ) -> None:
    code, listed = found
    assert code == 1
    [health] = [f for f in listed if f["check"] == "budget" and f["message"].startswith("health check fault")]
    assert health["status"] == "fail"
    assert "DNS wiring route53-failover (production-db): 30 x 3 + 60 = 150 s: the 90 s SLO cannot be met; " \
           "the health check" in health["message"]
    assert "requestInterval" in health["fix"]
    rows = {name: (value, source) for name, value, source in health["rows"]}
    assert rows["health check"] == ("90 s", "HealthCheck production-db-aws-health: requestInterval 30 x "
                                            "failureThreshold 3")
    assert rows["TTL"] == ("60 s", "ttl of Record production-db-api-primary")
    assert rows["total"][0] == "150 s"


def test_provider_faults_do_not_move_a_health_routed_record(found: tuple[int, list[dict[str, Any]]]) -> None:
    [unmoved] = [f for f in found[1] if f["check"] == "budget" and f["message"].startswith("provider faults")]
    assert unmoved["status"] == "warn"
    assert "DNS will not move for production-db (route53-failover" in unmoved["message"]
    assert "losing aws's provider does not stop the endpoint" in unmoved["message"]
    assert "fail-health-check" in unmoved["fix"]


def test_the_text_output_prints_the_sum(route53_failover: Path) -> None:
    result = run_preflight(route53_failover)
    assert "Time budget: health check fault (fail-health-check), DNS wiring route53-failover" in result.stdout
    assert "150 s" in result.stdout


def _budget(*terms: Term, slo: float = 90) -> Budget:
    return Budget("provider faults", "function", ("a", "b", "c", "d"), terms, slo)


def test_the_term_that_alone_exceeds_the_slo_is_named_before_a_larger_sum() -> None:
    budget = _budget(Term("provider poll", 600, "--poll=10m"), Term("TTL", 30, "ttl"))
    assert budget.total == 630 and budget.breaker == Term("provider poll", 600, "--poll=10m")
    finding = budget.finding()
    assert finding.status == FAIL and "the provider poll (10 minutes, --poll=10m) breaks it" in finding.message
    assert "(a, b, c and 1 more)" in finding.message


def test_without_a_single_culprit_the_largest_term_breaks_it() -> None:
    budget = _budget(Term("health check", 60, "x"), Term("TTL", 45, "y"))
    assert budget.breaker is not None and budget.breaker.name == "health check"


def test_an_unpublished_term_counts_nothing_and_says_so() -> None:
    finding = _budget(Term("provider poll", 10, "p"), Term("detection threshold", None, "none in its input"),
                      Term("TTL", 30, "t")).finding()
    assert finding.status == OK
    assert "10 + 0 (not published) + 30 = 40 s, within the 90 s SLO" in finding.message
    assert ("detection threshold", "not published", "none in its input") in finding.rows
    assert finding.rows[-1] == ("total", "40 s", "within the 90 s SLO")


def test_a_budget_exactly_at_the_slo_is_met() -> None:
    assert _budget(Term("health check", 60, "x"), Term("TTL", 30, "y")).breaker is None
