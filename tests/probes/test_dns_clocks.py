"""The two DNS convergence clocks over synthetic timelines: authoritative (every nameserver answers anew) and
client-visible (each old answer's last instant plus the TTL it was served with), and the one the SLO judges."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.support.targets import minimal, write
from xpchaos.core import target as targets
from xpchaos.probes import expectations
from xpchaos.probes import timeline as tl
from xpchaos.probes.dns_sampler import label

OLD, NEW = ("192.0.2.10",), ("198.51.100.20",)


def _target(tmp_path: Path, clock: str | None) -> targets.Target:
    doc = minimal()
    doc["providers"]["azure"] = {**copy.deepcopy(doc["providers"]["aws"]), "role": "secondary"}
    doc["slos"] = {"dns_convergence": "90s", **({"dnsClock": clock} if clock else {})}
    return targets.load(write(tmp_path / f"{clock}.yaml", doc))


class Synthetic:
    """Entries at chosen instants, seconds after a fault at t0 = 1000."""

    t0 = 1000.0

    def __init__(self, target: targets.Target) -> None:
        self.target = target
        self.timeline = tl.Timeline()
        self.entries: list[tl.Entry] = []

    def at(self, seconds: float, source: str, what: str, **fields: Any) -> None:
        entry = self.timeline.add(source, what, **fields)
        self.entries.append(dataclasses.replace(entry, mono=self.t0 + seconds))

    def answer(self, seconds: float, answers: tuple[str, ...], ttl: int | None, nameserver: int | None = None) -> None:
        record = self.target.dns[0]
        chosen = record.nameservers if nameserver is None else (record.nameservers[nameserver],)
        for ns in chosen:
            self.at(seconds, tl.DNS, tl.ANSWER, kind="A", name=record.name, nameserver=label(ns), answers=answers,
                    ttl=ttl)

    def fault(self) -> None:
        self.at(0, tl.FAULT, tl.MARK, kind="f", status="injected")

    def judge(self, now: float = 200.0) -> dict[str, Any]:
        exp = expectations.failover(self.target, only=["dns_secondary"])
        verdict = exp.evaluate(self.entries, self.t0, self.t0 + now, lambda *_: None)
        assert verdict is not None
        return verdict


def _switch_at_40_with_ttl_60(target: targets.Target) -> Synthetic:
    run = Synthetic(target)
    run.answer(-5, OLD, 60)
    run.fault()
    run.answer(40, NEW, 60)
    return run


def test_a_switch_at_40_s_with_ttl_60_s_misses_a_90_s_slo_on_the_client_visible_clock(tmp_path: Path) -> None:
    verdict = _switch_at_40_with_ttl_60(_target(tmp_path, None)).judge()  # client-visible: the default
    assert verdict["outcome"] == "failed" and verdict["failed_step"] == "dns_secondary", verdict
    assert verdict["late_by_s"] == pytest.approx(10.0) and verdict["dns_clock"] == "client-visible"
    assert verdict["times"]["time_to_dns_convergence_s"] == pytest.approx(40.0)
    assert verdict["times"]["time_to_client_visible_s"] == pytest.approx(100.0)
    step = verdict["steps"][0]
    assert step["at_s"] == pytest.approx(100.0) and step["since_s"] == pytest.approx(40.0), step
    assert step["clock"] == "client-visible" and "TTL" in step["description"]


def test_the_same_run_passes_on_the_authoritative_clock_and_still_measures_both(tmp_path: Path) -> None:
    verdict = _switch_at_40_with_ttl_60(_target(tmp_path, "authoritative")).judge()
    assert verdict["outcome"] == "passed" and verdict["dns_clock"] == "authoritative", verdict
    assert verdict["times"]["time_to_dns_convergence_s"] == pytest.approx(40.0)
    assert verdict["times"]["time_to_client_visible_s"] == pytest.approx(100.0)
    assert verdict["steps"][0]["at_s"] == pytest.approx(40.0)


def test_the_client_visible_instant_is_the_latest_old_answer_plus_its_own_ttl(tmp_path: Path) -> None:
    run = Synthetic(_target(tmp_path, None))
    run.answer(-5, OLD, 30, nameserver=0)
    run.answer(-5, OLD, 10, nameserver=1)
    run.fault()
    run.answer(20, NEW, 5, nameserver=0)  # old (TTL 30) last served at 20 s: resolvers may keep it until 50 s
    run.at(25, tl.DNS, tl.DNS_ERROR, kind="A", name=run.target.dns[0].name,
           nameserver=label(run.target.dns[0].nameservers[1]), message="Timeout")  # old (TTL 10) ends at 25 s
    run.answer(30, NEW, 5, nameserver=1)  # the error served nothing a resolver keeps
    verdict = run.judge()
    assert verdict["outcome"] == "passed", verdict
    assert verdict["times"]["time_to_dns_convergence_s"] == pytest.approx(30.0)
    assert verdict["times"]["time_to_client_visible_s"] == pytest.approx(50.0)


def test_an_answer_without_ttl_adds_nothing(tmp_path: Path) -> None:  # journals written before TTLs were kept
    run = Synthetic(_target(tmp_path, None))
    run.answer(-5, OLD, None)
    run.fault()
    run.answer(12, NEW, None)
    times = run.judge()["times"]
    assert times["time_to_dns_convergence_s"] == times["time_to_client_visible_s"] == pytest.approx(12.0)


def test_a_verdict_that_never_switched_measures_neither_clock(tmp_path: Path) -> None:
    run = Synthetic(_target(tmp_path, None))
    run.answer(-5, OLD, 60)
    run.fault()
    verdict = run.judge(now=91)
    assert verdict["outcome"] == "failed" and verdict["late_by_s"] is None, verdict
    times = verdict["times"]
    assert times["time_to_client_visible_s"] is None and times["time_to_dns_convergence_s"] is None


def test_the_target_names_its_clock(tmp_path: Path) -> None:
    assert _target(tmp_path, None).slo_settings.dns_clock == "client-visible"
    assert _target(tmp_path, "authoritative").slo_settings.dns_clock == "authoritative"
    assert "dnsClock" not in _target(tmp_path, "authoritative").slos  # the SLOs in seconds only
    with pytest.raises(targets.TargetError, match="dnsClock"):
        _target(tmp_path, "resolver")
