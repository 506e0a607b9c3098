"""An RFC 2136 dynamic-update client, as ExternalDNS's ``rfc2136`` provider drives a DNS server.

Self-contained (dnspython only): BIND key files in and out, and one TSIG-signed UPDATE over TCP that replaces the
A RRset of a name. Works against the sandbox's server and a real BIND9 ``named`` alike.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.IN.A
import dns.tsig
import dns.update

DEFAULT_ALGORITHM = "hmac-sha256"
# BIND's spelling of an algorithm -> dnspython's name for it.
ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}
# quoted strings first, so a base64 secret holding "//" is kept and only real comments go
_COMMENTS = re.compile(r'("[^"]*")|/\*.*?\*/|//[^\n]*|#[^\n]*', re.DOTALL)
_KEY = re.compile(r'\bkey\s+("(?P<quoted>[^"]+)"|(?P<bare>[^\s{]+))\s*\{(?P<body>[^}]*)\}\s*;', re.DOTALL)
_OPTION = re.compile(r'\b(?P<name>algorithm|secret)\s+("(?P<quoted>[^"]*)"|(?P<bare>[^\s;]+))\s*;')


class UpdateFailed(Exception):
    """The server did not apply the update: it answered ``rcode`` (and ``tsig_error``), or could not be reached."""

    def __init__(self, message: str, server: tuple[str, int], rcode: int | None = None,
                 tsig_error: int | None = None) -> None:
        super().__init__(message)
        self.server = server
        self.rcode = rcode
        self.tsig_error = tsig_error


def load_tsig_key(path: str | Path) -> dns.tsig.Key:
    """The key in a BIND key file (``key "name" { algorithm hmac-sha256; secret "base64"; };``, as
    ``tsig-keygen`` writes it). The file must hold exactly one key."""
    text = Path(path).read_text()
    return parse_tsig_key(text, source=str(path))


def parse_tsig_key(text: str, source: str = "<text>") -> dns.tsig.Key:
    keys = list(_KEY.finditer(_COMMENTS.sub(lambda m: m.group(1) or "", text)))
    if len(keys) != 1:
        raise ValueError(f"{source}: expected exactly one key statement, found {len(keys)}")
    match = keys[0]
    name = match["quoted"] or match["bare"]
    options = {m["name"]: m["quoted"] if m["quoted"] is not None else m["bare"]
               for m in _OPTION.finditer(match["body"])}
    if "secret" not in options:
        raise ValueError(f"{source}: key {name!r} has no secret")
    algorithm_text = options.get("algorithm", DEFAULT_ALGORITHM).lower()
    algorithm = ALGORITHMS.get(algorithm_text)
    if algorithm is None:
        raise ValueError(f"{source}: key {name!r} has an unsupported algorithm {algorithm_text!r}")
    try:
        secret = base64.b64decode(options["secret"], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{source}: key {name!r} has a secret that is not base64: {exc}") from None
    return dns.tsig.Key(name, secret, algorithm)


def generate_tsig_key(name: str, algorithm: str = DEFAULT_ALGORITHM) -> tuple[dns.tsig.Key, str]:
    """A fresh random key and its BIND key-file text (what ``tsig-keygen -a <algorithm> <name>`` prints)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported TSIG algorithm {algorithm!r}; one of {', '.join(ALGORITHMS)}")
    secret = secrets.token_bytes(dns.tsig.mac_sizes[ALGORITHMS[algorithm]])
    key = dns.tsig.Key(name, secret, ALGORITHMS[algorithm])
    text = (f'key "{key.name.to_text(omit_final_dot=True)}" {{\n'
            f"\talgorithm {algorithm};\n"
            f'\tsecret "{base64.b64encode(secret).decode()}";\n'
            "};\n")
    return key, text


def build_replace_update(zone: str, name: str, addresses: list[str], ttl: int,
                         key: dns.tsig.Key | None) -> dns.update.UpdateMessage:
    """The UPDATE that replaces the A RRset of ``name`` in ``zone`` (deletes it when ``addresses`` is empty)."""
    origin = dns.name.from_text(zone)
    owner = dns.name.from_text(name)
    if not owner.is_subdomain(origin):
        owner = dns.name.from_text(name, origin=origin)  # "api" means api.<zone>.
    if not 0 <= ttl <= 0x7FFFFFFF:
        raise ValueError(f"TTL {ttl} out of range")
    rdatas = [dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, str(ipaddress.IPv4Address(a)))
              for a in addresses]
    update = dns.update.UpdateMessage(origin, keyring=key) if key is not None else dns.update.UpdateMessage(origin)
    if rdatas:
        update.replace(owner, ttl, *rdatas)  # delete the RRset (class ANY), then add each RR
    else:
        update.delete(owner, dns.rdatatype.A)
    return update


# the answer types a name switches between: writing one deletes the others, as CNAME and other data never mix
SWITCHED_TYPES = ("A", "AAAA", "CNAME")


def build_rrset_update(zone: str, name: str, rdtype: str, values: list[str], ttl: int,
                       key: dns.tsig.Key | None) -> dns.update.UpdateMessage:
    """The UPDATE that makes ``name`` answer ``values`` of type ``rdtype`` (A, AAAA or CNAME): the name's other
    answer types are deleted first, in the same update, so a name can switch between an address and a CNAME."""
    if rdtype not in SWITCHED_TYPES:
        raise ValueError(f"record type {rdtype!r}: one of {', '.join(SWITCHED_TYPES)}")
    origin = dns.name.from_text(zone)
    owner = dns.name.from_text(name)
    if not owner.is_subdomain(origin):
        owner = dns.name.from_text(name, origin=origin)
    if not 0 <= ttl <= 0x7FFFFFFF:
        raise ValueError(f"TTL {ttl} out of range")
    rdatas = [dns.rdata.from_text(dns.rdataclass.IN, rdtype, value) for value in values]
    update = dns.update.UpdateMessage(origin, keyring=key) if key is not None else dns.update.UpdateMessage(origin)
    for other in SWITCHED_TYPES:
        if other != rdtype:
            update.delete(owner, dns.rdatatype.from_text(other))
    if rdatas:
        update.replace(owner, ttl, *rdatas)
    else:
        update.delete(owner, dns.rdatatype.from_text(rdtype))
    return update


async def replace_address(server: tuple[str, int], zone: str, name: str, addresses: list[str], ttl: int,
                          key: dns.tsig.Key | None, timeout: float = 2.0) -> int:
    """Replace the A RRset of ``name`` with ``addresses`` (TTL ``ttl``) by one RFC 2136 UPDATE over TCP.

    Returns the rcode (NOERROR, 0). Raises :class:`UpdateFailed`, naming the server and the rcode (and the TSIG
    error when there is one), when the server refuses or cannot be reached within ``timeout`` seconds.
    """
    update = build_replace_update(zone, name, addresses, ttl, key)
    return await send_update(server, zone, update, "A", timeout)


async def replace_rrset(server: tuple[str, int], zone: str, name: str, rdtype: str, values: list[str], ttl: int,
                        key: dns.tsig.Key | None, timeout: float = 2.0) -> int:
    """Make ``name`` answer ``values`` of ``rdtype`` (A, AAAA or CNAME, replacing the others) by one UPDATE;
    answers and raises as :func:`replace_address`."""
    update = build_rrset_update(zone, name, rdtype, values, ttl, key)
    return await send_update(server, zone, update, rdtype, timeout)


async def send_update(server: tuple[str, int], zone: str, update: dns.update.UpdateMessage, rdtype: str,
                      timeout: float = 2.0) -> int:
    """Send one UPDATE over TCP; the rcode (NOERROR), else :class:`UpdateFailed` naming the server and why."""
    host, port = server
    where = f"{host}#{port}"
    what = f"UPDATE of {update.update[0].name} {rdtype} in {zone}"
    try:
        response = await dns.asyncquery.tcp(update, host, timeout=timeout, port=port)
    except dns.tsig.PeerError as exc:  # the server rejected our signature: NOTAUTH with a TSIG error
        tsig_error = _PEER_ERRORS.get(type(exc), 0)
        raise UpdateFailed(f"{where} answered NOTAUTH (TSIG {tsig_error_text(tsig_error)}) to {what}",
                           server, int(dns.rcode.NOTAUTH), tsig_error) from None
    except (dns.tsig.BadSignature, dns.tsig.BadKey, dns.tsig.BadTime, dns.message.UnknownTSIGKey) as exc:
        raise UpdateFailed(f"{where}: the answer to {what} failed TSIG verification: {exc!r}", server) from None
    except dns.exception.Timeout:
        raise UpdateFailed(f"{where} did not answer {what} within {timeout:g}s", server) from None
    except OSError as exc:
        raise UpdateFailed(f"cannot reach {where} for {what}: {exc}", server) from None
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        answered_error = response.tsig_error or None
        suffix = f" (TSIG {tsig_error_text(answered_error)})" if answered_error else ""
        raise UpdateFailed(f"{where} answered {dns.rcode.to_text(rcode)}{suffix} to {what}", server, int(rcode),
                           answered_error)
    return int(rcode)


def tsig_error_text(error: int) -> str:
    """BADSIG, BADKEY... (dns.rcode.to_text says BADVERS for 16, the EDNS meaning of the same number)."""
    return _TSIG_ERRORS.get(error) or dns.rcode.to_text(dns.rcode.Rcode.make(error))


_TSIG_ERRORS = {16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG",
                22: "BADTRUNC"}
_PEER_ERRORS: dict[type[Exception], int] = {
    dns.tsig.PeerBadKey: dns.rcode.BADKEY,
    dns.tsig.PeerBadSignature: dns.rcode.BADSIG,
    dns.tsig.PeerBadTime: dns.rcode.BADTIME,
    dns.tsig.PeerBadTruncation: dns.rcode.BADTRUNC,
}

__all__ = ["UpdateFailed", "build_replace_update", "build_rrset_update", "generate_tsig_key", "load_tsig_key",
           "parse_tsig_key", "replace_address", "replace_rrset", "send_update", "tsig_error_text"]
