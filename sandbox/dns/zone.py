"""An in-memory authoritative zone: answers queries and applies RFC 2136 updates, on dnspython types.

The content lives in a ``dns.zone.Zone`` (absolute names). Updates run in one of its copy-on-write transactions
under a lock, so a reader (the server's loop, or a test in another thread) sees either the old or the new zone,
never half an update.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.node
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.rrset
import dns.serial
import dns.transaction
import dns.update
import dns.zone

DEFAULT_ORIGIN = "xpchaos.test."
MAX_CNAME_CHAIN = 8
EDNS_PAYLOAD = 1232  # the UDP size advertised in responses, as BIND 9.18 does (DNS flag day 2020)

IN = dns.rdataclass.IN
ANY_CLASS = dns.rdataclass.ANY
NONE_CLASS = dns.rdataclass.NONE
T = dns.rdatatype
# Types that may never be added by an update, nor asked for by an ordinary query.
TRANSFER_TYPES = frozenset({T.AXFR, T.IXFR})
NOT_STORABLE = frozenset({T.ANY, T.AXFR, T.IXFR, T.MAILA, T.MAILB, T.OPT, T.TSIG, T.TKEY})
# Types whose targets get in-zone addresses in the additional section.
GLUE_TYPES = frozenset({T.NS, T.MX, T.SRV})
Nodes = Mapping[dns.name.Name, dns.node.Node]


def default_zone_text(api_address: str = "192.0.2.10", api_ttl: int = 5, serial: int = 1) -> str:
    """The sandbox's starting zone: SOA, NS ``ns1`` (127.0.0.1) and ``api`` A with a short TTL."""
    return f"""\
$ORIGIN {DEFAULT_ORIGIN}
$TTL 60
@    3600 IN SOA ns1.{DEFAULT_ORIGIN} hostmaster.{DEFAULT_ORIGIN} {serial} 3600 600 86400 5
@    3600 IN NS  ns1.{DEFAULT_ORIGIN}
ns1  3600 IN A   127.0.0.1
api  {api_ttl} IN A {api_address}
"""


def zone_text(records: list[tuple[str, str]], ttl: int = 5, serial: int = 1,
              cnames: list[tuple[str, str]] | None = None) -> str:
    """The starting zone of a platform: SOA, NS ``ns1`` and one A record (TTL ``ttl``) per ``(name, address)``,
    one CNAME per ``(name, target)`` of ``cnames``; names are absolute, inside the zone (``api.xpchaos.test.``)."""
    head = default_zone_text(serial=serial).splitlines()[:-1]  # everything but the seed's api record
    lines = [f"{name.removesuffix('.' + DEFAULT_ORIGIN)}  {ttl} IN A {address}" for name, address in records]
    lines += [f"{name.removesuffix('.' + DEFAULT_ORIGIN)}  {ttl} IN CNAME {target}" for name, target in cnames or []]
    return "\n".join([*head, *lines]) + "\n"


@dataclass(frozen=True)
class Change:
    """One RRset an update changed: its owner, type, TTL and values afterwards (empty when it was deleted)."""

    name: str
    rdtype: str
    ttl: int
    values: tuple[str, ...]


@dataclass(frozen=True)
class UpdateResult:
    rcode: dns.rcode.Rcode
    changes: tuple[Change, ...] = ()
    serial: int | None = None  # the serial after the update (None when refused)


class _Reject(Exception):
    """Internal control flow: ends an update with this rcode."""

    def __init__(self, rcode: dns.rcode.Rcode) -> None:
        super().__init__(dns.rcode.to_text(rcode))
        self.rcode = rcode


class Zone:
    """One authoritative zone, class IN. Build it with :meth:`from_text` or from a ``dns.zone.Zone``."""

    def __init__(self, zone: dns.zone.Zone) -> None:
        if zone.relativize or zone.origin is None:
            raise ValueError("the zone must have an origin and absolute names (relativize=False)")
        if zone.rdclass != IN:
            raise ValueError("only class IN zones are served")
        origin_node = zone.get_node(zone.origin)
        if origin_node is None or origin_node.get_rdataset(IN, T.SOA) is None:
            raise ValueError(f"zone {zone.origin} has no SOA at its origin")
        if origin_node.get_rdataset(IN, T.NS) is None:
            raise ValueError(f"zone {zone.origin} has no NS at its origin")
        self._zone = zone
        self.origin: dns.name.Name = zone.origin
        self._lock = threading.Lock()

    @classmethod
    def from_text(cls, text: str, origin: str | dns.name.Name = DEFAULT_ORIGIN) -> Zone:
        """A zone from master-file text (``$ORIGIN``, ``@``, relative names and ``$TTL`` work as in BIND)."""
        return cls(dns.zone.from_text(text, origin=origin, relativize=False, check_origin=True))

    @classmethod
    def from_rrsets(cls, rrsets: Iterable[dns.rrset.RRset], origin: str | dns.name.Name = DEFAULT_ORIGIN) -> Zone:
        zone = dns.zone.Zone(origin, relativize=False)
        with zone.writer() as txn:
            for rrset in rrsets:
                txn.add(rrset)
        return cls(zone)

    # ---- reading -------------------------------------------------------------------------------------------

    @property
    def serial(self) -> int:
        with self._lock:
            return int(self._soa()[0].serial)

    def rrset(self, name: str | dns.name.Name, rdtype: str | dns.rdatatype.RdataType) -> dns.rrset.RRset | None:
        """A copy of the RRset at ``name`` (absolute, or relative to the origin), or None."""
        owner = self._absolute(name)
        with self._lock:
            node = self._zone.nodes.get(owner)
            rds = node.get_rdataset(IN, dns.rdatatype.RdataType.make(rdtype)) if node is not None else None
            return _rrset(owner, rds) if rds is not None else None

    def addresses(self, name: str | dns.name.Name) -> list[str]:
        """The A values of ``name``, sorted; empty when it has none."""
        rrset = self.rrset(name, T.A)
        return sorted(rd.to_text() for rd in rrset) if rrset is not None else []

    def to_text(self) -> str:
        with self._lock:
            return self._zone.to_text(relativize=False)

    def _absolute(self, name: str | dns.name.Name) -> dns.name.Name:
        return name if isinstance(name, dns.name.Name) else dns.name.from_text(name, origin=self.origin)

    def _soa(self, nodes: Nodes | None = None) -> dns.rdataset.Rdataset:
        node = (self._zone.nodes if nodes is None else nodes)[self.origin]
        soa = node.get_rdataset(IN, T.SOA)
        assert soa is not None  # the apex SOA cannot be removed
        return soa

    # ---- queries -------------------------------------------------------------------------------------------

    def respond(self, query: dns.message.Message, *, allow_update: bool = False) -> dns.message.Message:
        """The authoritative response to ``query``.

        An UPDATE is applied only with ``allow_update`` (the server sets it once the TSIG signature checked out);
        otherwise it is REFUSED, as a real server answers an update its policy does not allow.
        """
        opcode = query.opcode()
        if opcode == dns.opcode.UPDATE:
            if not allow_update:
                return error_response(query, dns.rcode.REFUSED)
            return error_response(query, self.apply_update(query))
        if opcode != dns.opcode.QUERY:
            return error_response(query, dns.rcode.NOTIMP)
        if query.edns > 0:
            return error_response(query, dns.rcode.BADVERS)
        if len(query.question) != 1:
            return error_response(query, dns.rcode.FORMERR)
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        if qtype in (T.OPT, T.TSIG, T.TKEY):
            return error_response(query, dns.rcode.FORMERR)
        if qtype in (T.MAILA, T.MAILB):
            return error_response(query, dns.rcode.NOTIMP)
        if question.rdclass not in (IN, ANY_CLASS) or not qname.is_subdomain(self.origin):
            return error_response(query, dns.rcode.REFUSED)
        if qtype in TRANSFER_TYPES:  # allow-transfer { none; }
            return error_response(query, dns.rcode.REFUSED)
        response = make_response(query)
        response.flags |= dns.flags.AA
        with self._lock:
            nodes = self._zone.nodes  # transactions replace the dict, never mutate it: a consistent snapshot
        self._resolve(response, nodes, qname, qtype)
        return response

    def _resolve(self, response: dns.message.Message, nodes: Nodes,
                 qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> None:
        name = qname
        for _ in range(MAX_CNAME_CHAIN):
            cut = self._zone_cut(nodes, name)
            if cut is not None and not (cut == name and qtype == T.DS):
                if not response.answer:
                    response.flags &= ~dns.flags.AA  # a referral is not authoritative data
                ns = nodes[cut].get_rdataset(IN, T.NS)
                assert ns is not None
                response.authority.append(_rrset(cut, ns))
                self._add_glue(response, nodes, ns)
                return
            node = nodes.get(name)
            owner = name
            if node is None and not self._has_descendants(nodes, name):
                wildcard = self._wildcard(nodes, name)
                if wildcard is None:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                    response.authority.append(self._negative_soa(nodes))
                    return
                node = nodes[wildcard]
            if node is None:  # an empty non-terminal: the name exists, with no data
                response.authority.append(self._negative_soa(nodes))
                return
            if qtype == T.ANY:
                response.answer.extend(_rrset(owner, rds) for rds in node.rdatasets)
                return
            rds = node.get_rdataset(IN, qtype)
            if rds is not None:
                response.answer.append(_rrset(owner, rds))
                if qtype in GLUE_TYPES:
                    self._add_glue(response, nodes, rds)
                return
            cname = node.get_rdataset(IN, T.CNAME)
            if cname is None:
                response.authority.append(self._negative_soa(nodes))
                return
            response.answer.append(_rrset(owner, cname))
            name = cname[0].target
            if not name.is_subdomain(self.origin):
                return  # the resolver follows it elsewhere
        # a CNAME loop or an over-long chain: answer what we have, as servers do

    def _zone_cut(self, nodes: Nodes, name: dns.name.Name) -> dns.name.Name | None:
        """The highest delegation (NS below the apex) at or above ``name``, if any."""
        for depth in range(len(self.origin) + 1, len(name) + 1):
            candidate = dns.name.Name(name.labels[-depth:])
            node = nodes.get(candidate)
            if node is not None and node.get_rdataset(IN, T.NS) is not None:
                return candidate
        return None

    @staticmethod
    def _has_descendants(nodes: Nodes, name: dns.name.Name) -> bool:
        return any(other != name and other.is_subdomain(name) for other in nodes)

    def _wildcard(self, nodes: Nodes, name: dns.name.Name) -> dns.name.Name | None:
        """``*.<closest encloser>`` when it exists (RFC 4592), else None."""
        encloser = name.parent()
        while encloser != self.origin and encloser not in nodes and not self._has_descendants(nodes, encloser):
            encloser = encloser.parent()
        wildcard = dns.name.Name(("*", *encloser.labels))
        return wildcard if wildcard in nodes else None

    def _negative_soa(self, nodes: Nodes) -> dns.rrset.RRset:
        """The SOA for a negative answer, its TTL capped by the SOA minimum (RFC 2308)."""
        soa = self._soa(nodes)
        rrset = _rrset(self.origin, soa)
        rrset.ttl = min(soa.ttl, soa[0].minimum)
        return rrset

    def _add_glue(self, response: dns.message.Message, nodes: Nodes,
                  rds: dns.rdataset.Rdataset) -> None:
        for rd in rds:
            target = getattr(rd, "target", None) or getattr(rd, "exchange", None)
            node = nodes.get(target) if isinstance(target, dns.name.Name) else None
            if node is None:
                continue
            for rdtype in (T.A, T.AAAA):
                glue = node.get_rdataset(IN, rdtype)
                if glue is not None and target is not None:
                    response.additional.append(_rrset(target, glue))

    # ---- updates (RFC 2136) --------------------------------------------------------------------------------

    def apply_update(self, message: dns.message.Message) -> dns.rcode.Rcode:
        """Apply an RFC 2136 UPDATE; the rcode to answer. Callers authorize (TSIG) before calling."""
        return self.apply_update_detailed(message).rcode

    def apply_update_detailed(self, message: dns.message.Message) -> UpdateResult:
        """As :meth:`apply_update`, also telling which RRsets changed and the serial afterwards."""
        if not isinstance(message, dns.update.UpdateMessage) or message.opcode() != dns.opcode.UPDATE:
            return UpdateResult(dns.rcode.FORMERR)
        if len(message.zone) != 1 or message.zone[0].rdtype != T.SOA:
            return UpdateResult(dns.rcode.FORMERR)
        zone_rr = message.zone[0]
        if zone_rr.rdclass != IN or zone_rr.name != self.origin:
            return UpdateResult(dns.rcode.NOTAUTH)
        with self._lock:
            before = self._zone.nodes
            txn = self._zone.writer()
            try:
                self._check_prerequisites(txn, message.prerequisite)
                self._prescan(message.update)
                touched = self._apply(txn, message.update)
                changes = _diff(before, txn, touched)
                if not changes:
                    txn.rollback()
                    return UpdateResult(dns.rcode.NOERROR, (), int(self._soa()[0].serial))
                if not any(c.name == self.origin.to_text() and c.rdtype == "SOA" for c in changes):
                    txn.update_serial(1, relative=True, name=self.origin)
                txn.commit()
            except _Reject as reject:
                txn.rollback()
                return UpdateResult(reject.rcode)
            except BaseException:
                txn.rollback()
                raise
            soa = self._soa()
            serial = int(soa[0].serial)
            soa_change = Change(self.origin.to_text(), "SOA", soa.ttl, (soa[0].to_text(),))
            changes = tuple(c for c in changes if not (c.name == soa_change.name and c.rdtype == "SOA"))
            return UpdateResult(dns.rcode.NOERROR, (*changes, soa_change), serial)

    def _in_zone(self, name: dns.name.Name) -> None:
        if not name.is_subdomain(self.origin):
            raise _Reject(dns.rcode.NOTZONE)

    def _check_prerequisites(self, txn: dns.transaction.Transaction, prereqs: list[dns.rrset.RRset]) -> None:
        """RFC 2136 3.2: every prerequisite must hold, else the update is refused with the matching rcode."""
        value_dependent: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rdataset.Rdataset] = {}
        for rr in prereqs:
            if len(rr) and rr.ttl != 0:
                raise _Reject(dns.rcode.FORMERR)
            self._in_zone(rr.name)
            if rr.deleting == ANY_CLASS:
                if rr.rdtype == T.ANY:
                    if not txn.name_exists(rr.name):
                        raise _Reject(dns.rcode.NXDOMAIN)  # name is in use
                elif txn.get(rr.name, rr.rdtype) is None:
                    raise _Reject(dns.rcode.NXRRSET)  # RRset exists (value independent)
            elif rr.deleting == NONE_CLASS:
                if rr.rdtype == T.ANY:
                    if txn.name_exists(rr.name):
                        raise _Reject(dns.rcode.YXDOMAIN)  # name is not in use
                elif txn.get(rr.name, rr.rdtype) is not None:
                    raise _Reject(dns.rcode.YXRRSET)  # RRset does not exist
            elif rr.rdclass == IN and rr.deleting is None:
                if rr.rdtype in NOT_STORABLE:
                    raise _Reject(dns.rcode.FORMERR)
                wanted = value_dependent.setdefault((rr.name, rr.rdtype), dns.rdataset.Rdataset(IN, rr.rdtype))
                for rd in rr:
                    wanted.add(rd)
            else:
                raise _Reject(dns.rcode.FORMERR)
        for (name, rdtype), wanted in value_dependent.items():  # RRset exists (value dependent)
            present = txn.get(name, rdtype)
            if present is None or set(present) != set(wanted):
                raise _Reject(dns.rcode.NXRRSET)

    def _prescan(self, updates: list[dns.rrset.RRset]) -> None:
        """RFC 2136 3.4.1: reject the whole update before changing anything."""
        for rr in updates:
            self._in_zone(rr.name)
            if rr.deleting is None:
                if rr.rdclass != IN or rr.rdtype in NOT_STORABLE:
                    raise _Reject(dns.rcode.FORMERR)
            elif rr.deleting == ANY_CLASS:
                if len(rr) or rr.rdtype in (T.AXFR, T.IXFR, T.MAILA, T.MAILB):
                    raise _Reject(dns.rcode.FORMERR)
            elif rr.deleting == NONE_CLASS:
                if rr.ttl != 0 or rr.rdtype in NOT_STORABLE:
                    raise _Reject(dns.rcode.FORMERR)
            else:
                raise _Reject(dns.rcode.FORMERR)

    def _apply(self, txn: dns.transaction.Transaction, updates: list[dns.rrset.RRset]) -> set[dns.name.Name]:
        """RFC 2136 3.4.2, in message order. Returns the names touched."""
        touched: set[dns.name.Name] = set()
        for rr in updates:
            name, rdtype = rr.name, rr.rdtype
            apex = name == self.origin
            touched.add(name)
            if rr.deleting is None:
                for rd in rr:
                    self._add_rr(txn, name, rr.ttl, rd)
            elif rr.deleting == ANY_CLASS and rdtype == T.ANY:  # delete all RRsets from a name
                node = txn.get_node(name)
                for rds in list(node.rdatasets) if node is not None else []:
                    if not (apex and rds.rdtype in (T.SOA, T.NS)):
                        txn.delete(name, rds.rdtype, rds.covers)
            elif rr.deleting == ANY_CLASS:  # delete an RRset
                if not (apex and rdtype in (T.SOA, T.NS)) and txn.get(name, rdtype) is not None:
                    txn.delete(name, rdtype)
            else:  # class NONE: delete an RR from an RRset
                present = txn.get(name, rdtype)
                if present is None or rdtype == T.SOA:
                    continue
                remaining = [rd for rd in present if rd not in set(rr)]
                if len(remaining) == len(present) or (apex and rdtype == T.NS and not remaining):
                    continue  # nothing to delete, or the zone's last NS (kept, as RFC 2136 says)
                if remaining:
                    txn.replace(name, dns.rdataset.from_rdata_list(present.ttl, remaining))
                else:
                    txn.delete(name, rdtype)
        return touched

    def _add_rr(self, txn: dns.transaction.Transaction, name: dns.name.Name, ttl: int, rd: dns.rdata.Rdata) -> None:
        rdtype = rd.rdtype
        node = txn.get_node(name)
        if rdtype == T.SOA:
            current = txn.get(self.origin, T.SOA)
            assert current is not None
            serial = cast(dns.rdtypes.ANY.SOA.SOA, rd).serial
            if name == self.origin and dns.serial.Serial(serial) > dns.serial.Serial(current[0].serial):
                txn.replace(name, dns.rdataset.from_rdata(ttl, rd))
            return
        if node is not None:
            others = [rds.rdtype for rds in node.rdatasets if rds.rdtype not in (T.CNAME, T.RRSIG, T.NSEC, T.NSEC3)]
            if rdtype == T.CNAME and others:
                return  # CNAME and other data cannot coexist: ignored, as RFC 2136 3.4.2.2 says
            if rdtype != T.CNAME and node.get_rdataset(IN, T.CNAME) is not None:
                return
        if rdtype == T.CNAME:
            txn.replace(name, dns.rdataset.from_rdata(ttl, rd))
            return
        present = txn.get(name, rdtype)
        rdatas = [*(r for r in present if r != rd), rd] if present is not None else [rd]
        txn.replace(name, dns.rdataset.from_rdata_list(ttl, rdatas))  # the added RR's TTL applies to the RRset


def make_response(query: dns.message.Message) -> dns.message.Message:
    """dnspython's response (question, EDNS and TSIG as the query had), advertising our EDNS payload size."""
    return dns.message.make_response(query, our_payload=EDNS_PAYLOAD)


def error_response(query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    """The response to ``query`` carrying only its question (and EDNS/TSIG as the query had) and ``rcode``."""
    response = make_response(query)
    response.set_rcode(rcode)
    return response


def _rrset(owner: dns.name.Name, rds: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, rds.rdclass, rds.rdtype, rds.covers)
    rrset.update(rds)
    rrset.ttl = rds.ttl
    return rrset


def _diff(before: Nodes, txn: dns.transaction.Transaction,
          touched: set[dns.name.Name]) -> tuple[Change, ...]:
    """The RRsets whose values or TTL differ between ``before`` and the transaction's view."""
    changes: list[Change] = []
    for name in sorted(touched):
        old_node, new_node = before.get(name), txn.get_node(name)
        types = {(rds.rdtype, rds.covers) for node in (old_node, new_node) if node is not None for rds in node}
        for rdtype, covers in sorted(types):
            old = old_node.get_rdataset(IN, rdtype, covers) if old_node is not None else None
            new = new_node.get_rdataset(IN, rdtype, covers) if new_node is not None else None
            if _same(old, new):
                continue
            values = tuple(sorted(rd.to_text() for rd in new)) if new is not None else ()
            changes.append(Change(name.to_text(), dns.rdatatype.to_text(rdtype), new.ttl if new else 0, values))
    return tuple(changes)


def _same(a: dns.rdataset.Rdataset | None, b: dns.rdataset.Rdataset | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.ttl == b.ttl and set(a) == set(b)


__all__ = ["DEFAULT_ORIGIN", "EDNS_PAYLOAD", "Change", "UpdateResult", "Zone", "default_zone_text", "error_response",
           "make_response"]
