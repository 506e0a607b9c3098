"""The DNS sampler: every configured nameserver of every target record, queried concurrently and repeatedly.

One thread per (record, nameserver) asks every ``interval`` seconds (<= 100 ms by default) over UDP, falling
back to TCP when the answer is truncated (dnspython). Only changes are recorded: a new answer set, or an error
(timeout, refused, SERVFAIL...) as an entry of its own; the same error twice in a row is one entry.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from xpchaos.core.target import DnsRecord, Nameserver

from . import timeline as tl

QUERY_TIMEOUT = 1.0


@dataclass(frozen=True)
class Served:
    """What one nameserver answered for a record: the sorted answers, and the smallest TTL among the answer's
    records (how long a resolver may go on serving it; None when there was no answer)."""

    answers: tuple[str, ...]
    ttl: int | None


def served(record: DnsRecord, nameserver: Nameserver, timeout: float = QUERY_TIMEOUT) -> Served:
    """What ``nameserver`` answers for ``record`` (UDP, TCP on truncation); raises on any failure."""
    query = dns.message.make_query(record.name, record.type)
    response, _tcp = dns.query.udp_with_fallback(query, nameserver.host, timeout=timeout, port=nameserver.port)
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise dns.exception.DNSException(f"rcode {dns.rcode.to_text(response.rcode())}")
    wanted = dns.rdatatype.from_text(record.type)
    answers = tuple(sorted(rr.to_text() for rrset in response.answer if rrset.rdtype == wanted for rr in rrset))
    ttls = [rrset.ttl for rrset in response.answer]
    return Served(answers, min(ttls) if ttls else None)


def ask(record: DnsRecord, nameserver: Nameserver, timeout: float = QUERY_TIMEOUT) -> tuple[str, ...]:
    """The sorted answers of ``nameserver`` for ``record``; raises on any failure."""
    return served(record, nameserver, timeout).answers


def label(nameserver: Nameserver) -> str:
    host = f"[{nameserver.host}]" if ":" in nameserver.host else nameserver.host
    return f"{host}:{nameserver.port}"


INTERVAL = 0.1  # seconds between two questions to one nameserver, at most: the resolution of every DNS signal


class DnsSampler:
    def __init__(self, records: tuple[DnsRecord, ...], timeline: tl.Timeline, interval: float = INTERVAL) -> None:
        self.records = records
        self.timeline = timeline
        self.interval = min(interval, INTERVAL)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._first: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()

    @property
    def synced(self) -> bool:
        """Every nameserver has been asked at least once (answer or error)."""
        with self._lock:
            return len(self._first) == sum(len(r.nameservers) for r in self.records)

    def start(self) -> None:
        for record in self.records:
            for nameserver in record.nameservers:
                thread = threading.Thread(target=self._run, args=(record, nameserver), daemon=True,
                                          name=f"xpchaos-dns-{record.name}-{label(nameserver)}")
                self._threads.append(thread)
                thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def stop(self, timeout: float = QUERY_TIMEOUT + 0.5) -> None:
        """Stop asking; returns within ``timeout`` (a query in flight ends by its own timeout)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, record: DnsRecord, nameserver: Nameserver) -> None:
        last: tuple[str, Served | str] | None = None
        where = label(nameserver)
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                seen: tuple[str, Served | str] = (tl.ANSWER, served(record, nameserver))
            except (dns.exception.DNSException, OSError) as exc:
                seen = (tl.DNS_ERROR, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            if self._stopping.is_set():
                return
            if seen != last:
                if isinstance(seen[1], Served):
                    self.timeline.add(tl.DNS, tl.ANSWER, kind=record.type, name=record.name, nameserver=where,
                                      answers=seen[1].answers, ttl=seen[1].ttl, initial=last is None)
                else:
                    self.timeline.add(tl.DNS, tl.DNS_ERROR, kind=record.type, name=record.name, nameserver=where,
                                      message=str(seen[1]), initial=last is None)
                last = seen
            with self._lock:
                self._first[(record.name, where)] = True
            self._stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))
