"""The client-visible DNS clock against a real caching resolver: BIND9 forwarding the sandbox's zone to the sandbox's
nameserver, asked every 100 ms through a blueprint failover. What a client's resolver serves lags the authoritative
switch by the old answer's TTL, and the harness's client-visible instant is the latest it can switch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import pytest
from kubernetes import config

from tests.probes.cluster import Cluster
from tests.support.bind9 import Resolver, caching_resolver
from tests.support.sandboxes import Sandbox, fast
from tests.support.waiting import wait_for
from xpchaos.probes import failover
from xpchaos.probes.expectations import failover as failover_expectation
from xpchaos.probes.recorder import TimelineRecorder

TTL = 3  # seconds: the sandbox's DNS answers, so the lag is long beside the 100 ms questions
ASK_EVERY = 0.1
DEADLINES = {"detect": 15, "promote": 15, "xr_recovers": 15, "dns_secondary": 15}
SAMPLER_STEP = 0.15  # the harness sees a switch at its next question (100 ms) plus the query's own time
ASKER_STEP = 0.3  # a resolver's new answer is seen at the asker's next question, through the resolver


@dataclass
class Asker:
    """Asks one resolver for the record every ``ASK_EVERY`` seconds on a thread: (monotonic instant, answers,
    remaining TTL) per answer."""

    resolver: Resolver
    name: str
    seen: list[tuple[float, tuple[str, ...], int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Asker:
        threading.Thread(target=self._run, daemon=True, name=f"asker-{self.resolver.port}").start()
        return self

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                response = dns.query.udp(dns.message.make_query(self.name, "A"), "127.0.0.1",
                                         port=self.resolver.port, timeout=1)
            except (dns.exception.DNSException, OSError):
                pass  # a lost question: the next one comes in 100 ms
            else:
                at = time.monotonic()
                for rrset in response.answer:
                    if rrset.rdtype == dns.rdatatype.A:
                        self.seen.append((at, tuple(sorted(rd.to_text() for rd in rrset)), rrset.ttl))
            self.stop.wait(ASK_EVERY)

    def first(self, answers: tuple[str, ...]) -> float | None:
        return next((at for at, got, _ttl in self.seen if got == answers), None)

    def last(self, answers: tuple[str, ...], before: float) -> float | None:
        return max((at for at, got, _ttl in self.seen if got == answers and at < before), default=None)


def test_a_caching_resolver_serves_the_old_answer_until_the_client_visible_instant(
        own_sandbox: Callable[..., Sandbox], recorders: Callable[..., TimelineRecorder], tmp_path: Path) -> None:
    box = own_sandbox(*fast("blueprint", f"dns_ttl={TTL}"))
    box.wait_steady()
    c = Cluster(box, box.target, config.new_client_from_config(config_file=box.kubeconfig))
    record = c.target.dns[0]
    old, new = tuple(sorted(record.primary)), tuple(sorted(record.secondary))
    upstream = record.nameservers[0]
    with caching_resolver(tmp_path / "first", (upstream.host, upstream.port)) as first, \
            caching_resolver(tmp_path / "second", (upstream.host, upstream.port)) as second:
        askers = [Asker(first, record.name).start()]
        # the second resolver's cache half a TTL behind the first (each fills its cache at its first question): at
        # the switch one of them holds the old answer for half a TTL or more, wherever in its TTL the switch falls.
        # The offset is the design, not a wait for a state.
        wait_for(lambda: askers[0].seen and time.monotonic() >= askers[0].seen[0][0] + TTL / 2, TTL + 2,
                 what="half a TTL after the first resolver filled its cache")
        askers.append(Asker(second, record.name).start())
        wait_for(lambda: askers[1].seen, 5, what="the second resolver answering")
        rec = recorders(c.target)
        assert rec.wait_synced(10), rec.errors
        fault = rec.timeline.mark_fault("credentials-revoked").mono
        restore = c.revoke_credentials()
        try:  # the credentials stay revoked until the resolvers switched too (restored, the blueprint fails back)
            verdict = failover.evaluate(rec, failover_expectation(c.target, DEADLINES))
            assert verdict["outcome"] == "passed" and verdict["dns_clock"] == "client-visible", verdict
            wait_for(lambda: all(a.first(new) for a in askers), TTL + 2, what="both resolvers answering the secondary")
        finally:
            restore()
            for asker in askers:
                asker.stop.set()
        switch = fault + verdict["times"]["time_to_dns_convergence_s"]
        visible = fault + verdict["times"]["time_to_client_visible_s"]
        assert visible - switch == pytest.approx(TTL, abs=0.01), verdict["times"]
    report = {f"resolver {a.resolver.port}": [(round(at - fault, 2), got, ttl) for at, got, ttl in a.seen
                                               if at > switch - 1] for a in askers}
    for asker in askers:
        first_new = asker.first(new)
        assert first_new is not None and switch - SAMPLER_STEP <= first_new <= visible + ASKER_STEP, \
            (switch - fault, visible - fault, report)
    # the lag is real: a resolver went on serving the old answer after every authoritative nameserver had switched
    lag = max((at - switch for a in askers if (at := a.last(old, before=visible + 1)) is not None), default=None)
    assert lag is not None and lag >= 0.5, (lag, switch - fault, visible - fault, report)
