"""The DNS sampler: every configured nameserver of every target record, queried concurrently and repeatedly.

One thread per (record, nameserver address) asks every ``interval`` seconds (<= 100 ms by default) over UDP,
falling back to TCP when the answer is truncated (dnspython). Only changes are recorded: a new answer set, or an
error (timeout, refused, SERVFAIL, a CNAME loop...) as an entry of its own; the same error twice in a row is one
entry.

Answers are compared through CNAME chains, as a resolver reaches them: for an A or AAAA record the answer is the
addresses at the end of the chain (CNAMEs in the answer section are followed, a target the answer leaves out is
asked for again, at most ``MAX_CHAIN`` links, a loop is an error); the chain itself is kept in the entry
(``api -> api-aws``), and the TTL is the smallest along it. For a CNAME record the answer is its target.

A nameserver written as a hostname is resolved (the system resolver) to its addresses, each asked; it is resolved
again every ``resolve_every`` seconds, and the sampler follows a change (an ``addresses`` entry says so). Its
answer is recorded once every address answers the same; an address that fails makes it a DNS error entry, as a
name that does not resolve does.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from xpchaos.core.errors import XpchaosError
from xpchaos.core.target import DnsRecord, Nameserver

from . import timeline as tl

QUERY_TIMEOUT = 1.0
MAX_CHAIN = 8  # CNAME links followed at most, as BIND and the sandbox's zone bound a chain
RESOLVE_EVERY = 30.0  # seconds between two resolutions of a nameserver written as a hostname
RESOLVE_RETRY = 1.0  # seconds between two tries while a nameserver's name resolves to nothing


class ChainError(XpchaosError, dns.exception.DNSException):
    """A CNAME chain that loops or is longer than ``MAX_CHAIN`` links."""


class DisagreeError(XpchaosError, dns.exception.DNSException):
    """The addresses of a nameserver written as a hostname answer differently."""


@dataclass(frozen=True)
class Served:
    """What one nameserver answered for a record: the sorted answers, the smallest TTL along the way (how long a
    resolver may go on serving it; None when nothing was answered), and the names followed through CNAMEs from the
    record's own (empty when there was no CNAME)."""

    answers: tuple[str, ...]
    ttl: int | None
    chain: tuple[str, ...] = ()


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def endpoints(nameserver: Nameserver) -> tuple[Nameserver, ...]:
    """The addresses ``nameserver`` stands for: itself when written as an address, else what its hostname resolves
    to now (the system resolver), in the order given; raises OSError naming it when it does not resolve."""
    if is_address(nameserver.host):
        return (nameserver,)
    try:
        infos = socket.getaddrinfo(nameserver.host, nameserver.port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:  # the resolver's own words, naming the nameserver that does not resolve
        raise OSError(f"nameserver {nameserver.host} does not resolve: {exc.strerror}") from None
    addresses = dict.fromkeys(str(info[4][0]).partition("%")[0] for info in infos)
    return tuple(Nameserver(address, nameserver.port) for address in addresses)


def _ask_once(name: dns.name.Name, rdtype: dns.rdatatype.RdataType, nameserver: Nameserver,
              timeout: float) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    response, _tcp = dns.query.udp_with_fallback(query, nameserver.host, timeout=timeout, port=nameserver.port)
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise dns.exception.DNSException(f"rcode {dns.rcode.to_text(response.rcode())}")
    return response


def _shown(names: list[dns.name.Name]) -> tuple[str, ...]:
    return tuple(n.to_text(omit_final_dot=True) for n in names)


def _follow(record: DnsRecord, nameserver: Nameserver, timeout: float) -> Served:
    """Ask one address; for A / AAAA follow the CNAME chain to its end (asking again for a target the answer
    section leaves out)."""
    wanted = dns.rdatatype.from_text(record.type)
    name = dns.name.from_text(record.name)
    chain, ttls = [name], []
    while True:
        asked = name
        rrsets: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = {
            (rrset.name, rrset.rdtype): rrset for rrset in _ask_once(name, wanted, nameserver, timeout).answer}
        if wanted == dns.rdatatype.CNAME:
            cname = rrsets.get((name, dns.rdatatype.CNAME))
            return Served(tuple(sorted(rr.to_text() for rr in cname)) if cname else (), cname.ttl if cname else None)
        while (name, wanted) not in rrsets and (name, dns.rdatatype.CNAME) in rrsets:
            link = rrsets[(name, dns.rdatatype.CNAME)]
            ttls.append(link.ttl)
            name = link[0].target
            if name in chain:
                raise ChainError(f"CNAME loop: {' -> '.join(_shown([*chain, name]))}")
            chain.append(name)
            if len(chain) > MAX_CHAIN + 1:
                raise ChainError(f"CNAME chain longer than {MAX_CHAIN}: {' -> '.join(_shown(chain))}")
        final = rrsets.get((name, wanted))
        if final is None and name != asked:
            continue  # the chain leaves the answer section: ask for its target
        if final is not None:
            ttls.append(final.ttl)
        answers = tuple(sorted(rr.to_text() for rr in final)) if final is not None else ()
        return Served(answers, min(ttls) if ttls else None, _shown(chain) if len(chain) > 1 else ())


def served(record: DnsRecord, nameserver: Nameserver, timeout: float = QUERY_TIMEOUT) -> Served:
    """What ``nameserver`` answers for ``record`` (UDP, TCP on truncation; through CNAMEs); raises on any failure.
    A nameserver written as a hostname is asked at each of its addresses, which must answer the same."""
    if is_address(nameserver.host):
        return _follow(record, nameserver, timeout)
    seen = {address.host: _follow(record, address, timeout) for address in endpoints(nameserver)}
    if not seen:
        raise OSError(f"{nameserver.host} resolves to no address")
    if len(set(seen.values())) > 1:
        raise DisagreeError("; ".join(f"{host} answers {', '.join(s.answers) or 'nothing'}"
                                      for host, s in seen.items()))
    return next(iter(seen.values()))


def ask(record: DnsRecord, nameserver: Nameserver, timeout: float = QUERY_TIMEOUT) -> tuple[str, ...]:
    """The sorted answers of ``nameserver`` for ``record``; raises on any failure."""
    return served(record, nameserver, timeout).answers


def label(nameserver: Nameserver) -> str:
    host = f"[{nameserver.host}]" if ":" in nameserver.host else nameserver.host
    return f"{host}:{nameserver.port}"


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


INTERVAL = 0.1  # seconds between two questions to one nameserver, at most: the resolution of every DNS signal

Seen = Served | str  # an answer, or the error it raised


@dataclass
class _Probe:
    """One (record, configured nameserver): what its addresses answer now, and what was last recorded."""

    record: DnsRecord
    nameserver: Nameserver
    addresses: tuple[str, ...] = ()
    by_address: dict[str, Seen] = field(default_factory=dict)
    recorded: Seen | None = None
    observed: bool = False
    workers: dict[str, threading.Event] = field(default_factory=dict)  # address -> its stop
    recording: threading.Lock = field(default_factory=threading.Lock)  # one entry at a time, in order


class DnsSampler:
    def __init__(self, records: tuple[DnsRecord, ...], timeline: tl.Timeline, interval: float = INTERVAL,
                 resolve_every: float = RESOLVE_EVERY,
                 resolve: Callable[[Nameserver], tuple[Nameserver, ...]] = endpoints) -> None:
        self.records = records
        self.timeline = timeline
        self.interval = min(interval, INTERVAL)
        self.resolve_every = resolve_every
        self._resolve = resolve
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._probes = [_Probe(r, ns) for r in records for ns in r.nameservers]
        self._lock = threading.Lock()

    @property
    def synced(self) -> bool:
        """Every nameserver has been asked at least once (answer or error)."""
        with self._lock:
            return all(p.observed for p in self._probes)

    def start(self) -> None:
        for probe in self._probes:
            if is_address(probe.nameserver.host):
                self._start_worker(probe, probe.nameserver.host)
            else:
                self._spawn(self._follow_name, (probe,), f"xpchaos-dns-{probe.record.name}-{label(probe.nameserver)}")

    def signal_stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for probe in self._probes:
                for stop in probe.workers.values():
                    stop.set()

    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    def stop(self, timeout: float = QUERY_TIMEOUT + 0.5) -> None:
        """Stop asking; returns within ``timeout`` (a query in flight ends by its own timeout)."""
        self.signal_stop()
        deadline = time.monotonic() + timeout
        for thread in self.threads():
            thread.join(max(0.0, deadline - time.monotonic()))

    # threads ------------------------------------------------------------------------------------------------------
    def _spawn(self, run: Callable[..., None], args: tuple[object, ...], name: str) -> None:
        thread = threading.Thread(target=run, args=args, daemon=True, name=name)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _start_worker(self, probe: _Probe, address: str) -> None:
        stop = threading.Event()
        with self._lock:
            probe.workers[address] = stop
            if not is_address(probe.nameserver.host):
                probe.addresses = (*probe.addresses, address) if address not in probe.addresses else probe.addresses
        where = label(Nameserver(address, probe.nameserver.port))
        self._spawn(self._ask_loop, (probe, address, stop), f"xpchaos-dns-{probe.record.name}-{where}")

    def _ask_loop(self, probe: _Probe, address: str, stop: threading.Event) -> None:
        nameserver = Nameserver(address, probe.nameserver.port)
        while not (stop.is_set() or self._stopping.is_set()):
            started = time.monotonic()
            seen: Seen
            try:
                seen = _follow(probe.record, nameserver, QUERY_TIMEOUT)
            except (dns.exception.DNSException, OSError) as exc:
                seen = _error(exc)
            if stop.is_set() or self._stopping.is_set():
                return
            self._observe(probe, address, seen)
            stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _follow_name(self, probe: _Probe) -> None:
        """Resolve a nameserver's hostname now and every ``resolve_every`` seconds; one worker per address."""
        while not self._stopping.is_set():
            try:
                found = tuple(ns.host for ns in self._resolve(probe.nameserver))
                problem = "" if found else "no address"
            except OSError as exc:
                found, problem = (), _error(exc)
            self._readdress(probe, found, problem)
            self._stopping.wait(self.resolve_every if found else min(self.resolve_every, RESOLVE_RETRY))

    def _readdress(self, probe: _Probe, found: tuple[str, ...], problem: str) -> None:
        with self._lock:
            before = probe.addresses
            gone = [a for a in before if a not in found]
            for address in gone:
                probe.workers.pop(address).set()
                probe.by_address.pop(address, None)
            probe.addresses = tuple(a for a in before if a in found)
        if problem:
            self._record(probe, f"cannot resolve nameserver {probe.nameserver.host}: {problem}")
            return
        if found != before:
            was = f" (was {', '.join(before)})" if before else ""
            self.timeline.add(tl.DNS, tl.ADDRESSES, kind=probe.record.type, name=probe.record.name,
                              nameserver=label(probe.nameserver), involved={"addresses": ",".join(found)},
                              message=f"{probe.nameserver.host} resolves to {', '.join(found)}{was}",
                              initial=probe.recorded is None)
        for address in found:
            if address not in before:
                self._start_worker(probe, address)
        if gone and not [a for a in found if a not in before]:
            self._combine(probe)  # fewer addresses, none new: those left may agree now

    # what is recorded ---------------------------------------------------------------------------------------------
    def _observe(self, probe: _Probe, address: str, seen: Seen) -> None:
        if is_address(probe.nameserver.host):
            self._record(probe, seen)
            return
        with self._lock:
            if address not in probe.addresses:
                return  # an address dropped while its question was in flight
            probe.by_address[address] = seen
        self._combine(probe)

    def _combine(self, probe: _Probe) -> None:
        """A hostname's answer: the one every address gives; an error when one fails; nothing new while they
        disagree (the name has not converged yet)."""
        with self._lock:
            if not probe.addresses or any(a not in probe.by_address for a in probe.addresses):
                return
            seen = [probe.by_address[a] for a in probe.addresses]
            errors = [f"{a}: {s}" for a, s in zip(probe.addresses, seen, strict=True) if isinstance(s, str)]
        if errors:
            self._record(probe, "; ".join(errors))
        elif len(set(seen)) == 1:
            self._record(probe, seen[0])

    def _record(self, probe: _Probe, seen: Seen) -> None:
        # not under self._lock: a timeline waiter may ask ``synced`` while holding the timeline's lock
        with probe.recording:
            if seen != probe.recorded:
                where, record = label(probe.nameserver), probe.record
                if isinstance(seen, Served):
                    self.timeline.add(tl.DNS, tl.ANSWER, kind=record.type, name=record.name, nameserver=where,
                                      answers=seen.answers, ttl=seen.ttl, chain=seen.chain,
                                      initial=probe.recorded is None)
                else:
                    self.timeline.add(tl.DNS, tl.DNS_ERROR, kind=record.type, name=record.name, nameserver=where,
                                      message=seen, initial=probe.recorded is None)
                probe.recorded = seen
        with self._lock:
            probe.observed = True
