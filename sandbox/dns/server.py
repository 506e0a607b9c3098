"""The sandbox's authoritative DNS server: UDP and TCP on one port, TSIG-signed RFC 2136 updates.

``await start(zone, keyring={...})`` binds and returns a :class:`DnsServer`; ``await server.close()`` stops it.
Queries are answered by :meth:`Zone.respond`; an UPDATE is applied only when it carries a valid TSIG signature
from a key in the keyring. Every applied change is recorded (monotonic and wall time, name, values, serial) in a
bounded history, so tests and the simulator can tell exactly when an answer switched.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import struct
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig

from .zone import EDNS_PAYLOAD, Zone, error_response, make_response

log = logging.getLogger("xpchaos.sandbox.dns")

UDP_PLAIN_LIMIT = 512  # RFC 1035, without EDNS
UDP_EDNS_LIMIT = EDNS_PAYLOAD  # never more than we advertise, whatever the client offers
TCP_IDLE_TIMEOUT = 30.0
BIND_ATTEMPTS = 8
HISTORY_SIZE = 1000

Keyring = Mapping[dns.name.Name | str, dns.tsig.Key]


@dataclass(frozen=True)
class AppliedUpdate:
    """One RRset changed by an accepted UPDATE (an update changing several RRsets gives several records)."""

    monotonic: float  # time.monotonic() when it was applied
    wall: float  # time.time() when it was applied
    name: str  # absolute owner name, e.g. "api.xpchaos.test."
    rdtype: str  # "A", "SOA", ...
    ttl: int
    values: tuple[str, ...]  # the RRset's values afterwards; () when it was deleted
    serial: int  # the zone's SOA serial after the update
    key: str  # the TSIG key that signed it
    peer: str  # "host#port" of the client


class DnsServer:
    def __init__(self, zone: Zone, keyring: Keyring | None = None, history: int = HISTORY_SIZE) -> None:
        self.zone = zone
        self.keyring: dict[dns.name.Name, dns.tsig.Key] = {
            dns.name.from_text(name) if isinstance(name, str) else name: key for name, key in (keyring or {}).items()
        }
        self._history: deque[AppliedUpdate] = deque(maxlen=history)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}
        self._address: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port), the same port for UDP and TCP."""
        if self._address is None:
            raise RuntimeError("the DNS server is not bound")
        return self._address

    @property
    def updates(self) -> list[AppliedUpdate]:
        """The applied changes, oldest first (at most ``history`` of them)."""
        return list(self._history)

    # ---- lifecycle -----------------------------------------------------------------------------------------

    async def _bind(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        attempts = BIND_ATTEMPTS if port == 0 else 1
        for attempt in range(1, attempts + 1):
            udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), local_addr=(host, port))
            chosen = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, host, chosen)
            except OSError as exc:
                udp.close()
                if exc.errno == errno.EADDRINUSE and attempt < attempts:
                    log.debug("TCP port %d taken, trying another", chosen)
                    continue
                raise
            self._udp = udp
            self._address = (host, chosen)
            return

    async def close(self) -> None:
        """Stop listening and hang up on open TCP connections."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for writer in list(self._connections):
                writer.close()  # its handler sees EOF and returns
            handlers = set(self._connections.values())
            if handlers:
                _, stuck = await asyncio.wait(handlers, timeout=1.0)
                for task in stuck:
                    task.cancel()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None

    async def __aenter__(self) -> DnsServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- transports ----------------------------------------------------------------------------------------

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            while True:
                try:
                    async with asyncio.timeout(TCP_IDLE_TIMEOUT):  # not wait_for: it can swallow a cancel in 3.11
                        prefix = await reader.readexactly(2)
                        (length,) = struct.unpack("!H", prefix)
                        wire = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    return
                answer = self.handle(wire, peer, tcp=True)
                if answer is not None:
                    writer.write(struct.pack("!H", len(answer)) + answer)
                    await writer.drain()
        except ConnectionError:
            return
        finally:
            self._connections.pop(writer, None)
            writer.close()

    # ---- one message ---------------------------------------------------------------------------------------

    def handle(self, wire: bytes, peer: tuple[Any, ...], *, tcp: bool) -> bytes | None:
        """The wire answer to one request, or None when nothing should be sent (a response, a runt)."""
        try:
            return self._handle(wire, peer, tcp)
        except Exception:
            log.exception("DNS request from %s failed", peer)
            return _header_only(wire, dns.rcode.SERVFAIL)

    def _handle(self, wire: bytes, peer: tuple[Any, ...], tcp: bool) -> bytes | None:
        if len(wire) < 12 or wire[2] & 0x80:  # too short for a header, or a response (QR): never answer
            return None
        try:
            request = dns.message.from_wire(wire, keyring=False)  # parse now, check the signature below
        except dns.exception.DNSException:
            return _header_only(wire, dns.rcode.FORMERR)
        signed_by: dns.tsig.Key | None = None
        if request.had_tsig:
            checked = self._check_tsig(wire, request)
            if isinstance(checked, dns.message.Message):
                return self._render(checked, request, tcp)
            signed_by, request = checked
        if request.opcode() == dns.opcode.UPDATE:
            response = self._update(request, signed_by, peer)
        else:
            response = self.zone.respond(request)
        return self._render(response, request, tcp)

    def _check_tsig(self, wire: bytes, request: dns.message.Message
                    ) -> dns.message.Message | tuple[dns.tsig.Key, dns.message.Message]:
        """(key, verified request), or the NOTAUTH response carrying the TSIG error (RFC 8945 5.2)."""
        keyname = request.keyname
        assert keyname is not None
        key = self.keyring.get(keyname)
        if key is None or key.algorithm != request.keyalgorithm:
            return _tsig_error(request, dns.rcode.BADKEY)
        try:
            return key, dns.message.from_wire(wire, keyring={keyname: key})
        except dns.tsig.BadSignature:
            return _tsig_error(request, dns.rcode.BADSIG)
        except dns.tsig.BadTime:
            request.keyring = key  # the BADTIME answer is signed, carrying our clock (RFC 8945 5.2.3)
            response = dns.message.make_response(request, our_payload=EDNS_PAYLOAD, tsig_error=dns.rcode.BADTIME)
            response.set_rcode(dns.rcode.NOTAUTH)
            return response
        except dns.exception.DNSException:
            return error_response(request, dns.rcode.FORMERR)

    def _update(self, request: dns.message.Message, key: dns.tsig.Key | None,
                peer: tuple[Any, ...]) -> dns.message.Message:
        if key is None:
            log.info("unsigned UPDATE from %s refused", _peer(peer))
            return error_response(request, dns.rcode.REFUSED)
        result = self.zone.apply_update_detailed(request)
        if result.changes and result.serial is not None:
            wall, now = time.time(), time.monotonic()
            for change in result.changes:
                self._history.append(AppliedUpdate(now, wall, change.name, change.rdtype, change.ttl, change.values,
                                                   result.serial, key.name.to_text(), _peer(peer)))
                log.info("UPDATE by %s: %s %s -> %s (serial %d)", key.name, change.name, change.rdtype,
                         " ".join(change.values) or "deleted", result.serial)
        return error_response(request, result.rcode)

    @staticmethod
    def _render(response: dns.message.Message, request: dns.message.Message, tcp: bool) -> bytes:
        if tcp:
            limit = 65535
        elif request.edns >= 0:
            limit = max(UDP_PLAIN_LIMIT, min(request.payload, UDP_EDNS_LIMIT))
        else:
            limit = UDP_PLAIN_LIMIT
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = make_response(request)  # question, EDNS and TSIG only; the client retries on TCP
            truncated.flags = response.flags | dns.flags.TC
            truncated.set_rcode(response.rcode())
            return truncated.to_wire(max_size=limit)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        answer = self.server.handle(data, addr, tcp=False)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable from a client gone away
        log.debug("UDP error: %s", exc)


async def start(zone: Zone, host: str = "127.0.0.1", port: int = 0, keyring: Keyring | None = None,
                *, history: int = HISTORY_SIZE) -> DnsServer:
    """Serve ``zone`` on UDP and TCP ``host:port`` (port 0: one port free for both). Updates need a key in
    ``keyring`` (name -> ``dns.tsig.Key``); without a keyring every update is refused."""
    server = DnsServer(zone, keyring, history)
    await server._bind(host, port)
    log.info("DNS serving %s on %s#%d (UDP and TCP)", zone.origin, *server.address)
    return server


def _tsig_error(request: dns.message.Message, tsig_error: int) -> dns.message.Message:
    """NOTAUTH with an unsigned TSIG record carrying the error and an empty MAC (RFC 8945 5.2.1, 5.2.2)."""
    response = error_response(request, dns.rcode.NOTAUTH)  # the unverified request has no key: not signed
    assert request.tsig is not None and request.keyname is not None
    original = request.tsig[0]
    assert isinstance(original, dns.rdtypes.ANY.TSIG.TSIG)
    rdata = original.replace(time_signed=int(time.time()), mac=b"", error=tsig_error, other=b"")
    response.tsig = dns.rrset.from_rdata(request.keyname, 0, rdata)
    return response


def _header_only(wire: bytes, rcode: dns.rcode.Rcode) -> bytes | None:
    """A bare header answering an unparseable request: its id and opcode, QR set, no records."""
    if len(wire) < 12:
        return None
    (ident, flags) = struct.unpack("!HH", wire[:4])
    flags = (flags & 0x7900) | dns.flags.QR | (int(rcode) & 0xF)  # keep opcode and RD
    return struct.pack("!HHHHHH", ident, flags, 0, 0, 0, 0)


def _peer(peer: tuple[Any, ...]) -> str:
    return f"{peer[0]}#{peer[1]}" if len(peer) >= 2 else str(peer)


__all__ = ["AppliedUpdate", "DnsServer", "start"]
