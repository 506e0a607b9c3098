"""A literal nameserver for the DNS probes' tests: it answers exactly the RRset asked for, or the CNAME at the name,
and never follows a chain (as an authoritative server answers a CNAME whose target is in another zone), so a test
can serve a chain that leaves the answer section, a CNAME loop, or AAAA records the sandbox's zone does not hold.

``serving(records, host=...)`` runs one on UDP on ``host`` (a loopback address) for a ``with`` block; its
``records`` may be changed while it runs, and ``asked`` counts the questions it answered.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

Records = dict[tuple[str, str], tuple[str, ...]]  # (absolute name, type) -> values


@dataclass
class PlainDns:
    host: str
    port: int
    records: Records
    ttl: dict[tuple[str, str], int] = field(default_factory=dict)  # per RRset, else 30
    asked: int = 0

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        for key in ((name, rdtype), (name, "CNAME")):
            if key in self.records:
                response.answer.append(dns.rrset.from_text_list(question.name, self.ttl.get(key, 30), "IN", key[1],
                                                                list(self.records[key])))
                return response
        if not any(n == name for n, _t in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response


@contextmanager
def serving(records: Records, host: str = "127.0.0.1", port: int = 0) -> Iterator[PlainDns]:
    """A literal nameserver on ``host``:``port`` (0: any free port) for the ``with`` block."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, port))
    sock.settimeout(0.1)
    server = PlainDns(host, sock.getsockname()[1], records)
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            server.asked += 1
            sock.sendto(server.answer(dns.message.from_wire(data)).to_wire(), peer)

    thread = threading.Thread(target=run, name=f"plain-dns-{host}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join(2)
        sock.close()
