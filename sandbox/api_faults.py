"""``--api-faults NAME=RATE,...``: server-side API faults, so the harness's own resilience can be tested.

One roll per eligible request: a single uniform draw ``u`` in [0, 1) is checked against the rates of the faults
that apply to the request, laid end to end in the fixed order ``latency, 500, 503, 429, drop-watch, gone, stall, 504``;
the first band containing ``u`` is the fault (at most one per request). While the applicable rates sum to at most 1,
each fault happens with its own rate; beyond that, earlier names win. ``drop-watch`` and ``stall`` apply only to
watches and ``gone`` only to watches that carry a resourceVersion other than ""/"0"; the others apply to every
eligible request. ``stall`` is a half-open connection, as behind a load balancer that was replaced: the stream
starts normally, then nothing more is sent (no event, no bookmark, not the end of the stream) and the connection
stays open until the client closes it. ``504`` is a gateway that timed out while the API server went on: the
request is handled (a write is applied) and the client gets 504 Gateway Timeout instead of the answer.

Eligible: authenticated resource requests (a path with a resource under ``/api/V/...`` or ``/apis/G/V/...``, as
``audit.attributes`` classifies them) whose User-Agent contains ``--api-faults-agent`` and whose verb and resource
are listed in ``--api-faults-only`` (when given). Discovery,
``/version``, ``/openapi``, health and ``/metrics`` are never faulted. The error answers are decided before the
handler runs, so a refused request changes nothing (but ``504``, answered after it). Each injected fault is
counted (``/metrics``) and, with ``--api-faults-log``, written as one JSON line. Faults are set by the process's
flags only: there is deliberately no endpoint to change them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import math
import random
import secrets
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from .audit import attributes
from .errors import ApiError

# new names go last: seeds keep their rolls
ORDER = ("latency", "500", "503", "429", "drop-watch", "gone", "stall", "504")
WATCH_ONLY = ("drop-watch", "gone", "stall")
SILENCED = ("drop-watch", "stall")  # watch faults that begin after a random delay
# the answers, worded as the real API server words them; its priority-and-fairness filter sends the 429 text as
# text/plain, the sandbox sends every answer as a Status (clients read both)
_ERRORS = {
    "500": (500, "InternalError", "Internal error occurred: injected by the sandbox (--api-faults)"),
    "503": (503, "ServiceUnavailable", "the server is currently unable to handle the request"),
    "429": (429, "TooManyRequests", "Too many requests, please try again later."),
    "504": (504, "Timeout", "Timeout: request did not complete within the allotted timeout"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags, as strings: ``from_args`` checks them so that a bad value is one ``cannot start`` line."""
    parser.add_argument("--api-faults", default=None, metavar="NAME=RATE,...",
                        help=f"inject API faults; NAME one of {', '.join(ORDER)}, RATE a probability 0..1")
    parser.add_argument("--api-faults-latency", default="0.05:0.5", metavar="MIN:MAX",
                        help="latency fault: uniform delay in seconds (default 0.05:0.5)")
    parser.add_argument("--api-faults-retry-after", default="1", metavar="SECONDS",
                        help="Retry-After of the 429 and 503 answers (default 1)")
    parser.add_argument("--api-faults-drop-after", default="2.0", metavar="SECONDS",
                        help="drop-watch: cut the stream after a uniform delay in [0, SECONDS] (default 2.0)")
    parser.add_argument("--api-faults-stall-after", default="2.0", metavar="SECONDS",
                        help="stall: stop sending after a uniform delay in [0, SECONDS] (default 2.0)")
    parser.add_argument("--api-faults-seed", default=None, metavar="INT", help="random seed (default: random, logged)")
    parser.add_argument("--api-faults-agent", default=None, metavar="SUBSTRING",
                        help="only fault requests whose User-Agent contains SUBSTRING (default: all)")
    parser.add_argument("--api-faults-only", default=None, metavar="VERB:RESOURCE,...",
                        help="only fault these requests, e.g. create:leases,create:networkpolicies (default: all)")
    parser.add_argument("--api-faults-log", type=Path, default=None, metavar="FILE",
                        help="append one JSON line per injected fault")


@dataclass(frozen=True)
class FaultConfig:
    rates: dict[str, float]
    latency: tuple[float, float] = (0.05, 0.5)
    retry_after: int = 1
    drop_after: float = 2.0
    seed: int = 0
    agent: str | None = None
    log_path: Path | None = None
    stall_after: float = 2.0
    only: frozenset[tuple[str, str]] | None = None  # (verb, resource) of the eligible requests; None: all


def parse_only(text: str | None) -> frozenset[tuple[str, str]] | None:
    if not text:
        return None
    pairs = [item.strip().partition(":") for item in text.split(",")]
    if any(not verb or not sep or not resource for verb, sep, resource in pairs):
        raise ValueError(f"--api-faults-only {text!r}: expected VERB:RESOURCE,..., e.g. create:leases")
    return frozenset((verb, resource) for verb, _, resource in pairs)


def _seconds(flag: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{flag} {text!r}: not a number of seconds") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{flag} {text!r}: expected a number of seconds >= 0")
    return value


def parse_rates(text: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in text.split(","):
        name, sep, rate_text = item.strip().partition("=")
        if not sep or name not in ORDER:
            raise ValueError(f"--api-faults {item.strip()!r}: expected NAME=RATE with NAME one of {', '.join(ORDER)}")
        if name in rates:
            raise ValueError(f"--api-faults: {name} is given twice")
        try:
            rate = float(rate_text)
        except ValueError:
            raise ValueError(f"--api-faults {item.strip()!r}: {rate_text!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:  # also refuses nan
            raise ValueError(f"--api-faults {item.strip()!r}: RATE is a probability between 0 and 1")
        rates[name] = rate
    return rates


def parse_range(text: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    if not sep:
        raise ValueError(f"--api-faults-latency {text!r}: expected MIN:MAX in seconds, e.g. 0.05:0.5")
    pair = (_seconds("--api-faults-latency", low), _seconds("--api-faults-latency", high))
    if pair[0] > pair[1]:
        raise ValueError(f"--api-faults-latency {text!r}: MIN is greater than MAX")
    return pair


def config_from_args(args: argparse.Namespace) -> FaultConfig | None:
    """The checked configuration (ValueError says what to fix); None without ``--api-faults``."""
    latency = parse_range(args.api_faults_latency)
    retry_after = args.api_faults_retry_after
    if not retry_after.isdecimal():
        raise ValueError(f"--api-faults-retry-after {retry_after!r}: expected a whole number of seconds")
    drop_after = _seconds("--api-faults-drop-after", args.api_faults_drop_after)
    stall_after = _seconds("--api-faults-stall-after", args.api_faults_stall_after)
    try:
        seed = int(args.api_faults_seed) if args.api_faults_seed is not None else secrets.randbits(32)
    except ValueError:
        raise ValueError(f"--api-faults-seed {args.api_faults_seed!r}: expected an integer") from None
    if args.api_faults is None:
        return None
    return FaultConfig(parse_rates(args.api_faults), latency, int(retry_after), drop_after, seed,
                       args.api_faults_agent or None, args.api_faults_log, stall_after,
                       parse_only(args.api_faults_only))


@dataclass(frozen=True)
class WatchFault:
    """A watch-only fault rolled for one request; WatchStream applies it (and only then is it recorded)."""

    name: str  # "drop-watch", "gone" or "stall"
    seconds: float  # drop-watch, stall: when to cut the stream or stop sending
    faults: ApiFaults = field(repr=False)
    request: web.Request = field(repr=False)

    def expired(self, resource_version: str, current_rv: int) -> ApiError:
        """gone: the 410 the real API server sends for a resourceVersion older than its window."""
        self.faults.record(self.request, "gone")
        oldest = max(int(resource_version) + 1, current_rv)
        return ApiError(410, f"too old resource version: {resource_version} ({oldest})", reason="Expired")

    async def cut(self, pump: Awaitable[None]) -> None:
        """Run ``pump``; after ``seconds``, drop-watch aborts the connection (no terminating chunk, a TCP reset) and
        stall stops sending and holds the connection open until the client closes it."""
        if self.name not in SILENCED:
            await pump
            return
        try:
            async with asyncio.timeout(self.seconds):
                await pump
        except TimeoutError:
            self.faults.record(self.request, self.name, self.seconds)
            if self.name == "drop-watch":
                _abort(self.request)
            else:
                await _held_open(self.request)


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close sends RST, as a load balancer cutting the connection does
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _held_open(request: web.Request, poll: float = 0.1) -> None:
    """Send nothing until the client goes away. aiohttp keeps reading the socket, so a client that closes it is
    seen at once (the transport closes); with nothing to write there is no event to wait on, hence the poll.
    Shutting the server down cancels this as it cancels every watch."""
    while (transport := request.transport) is not None and not transport.is_closing():
        await asyncio.sleep(poll)


# the watch fault rolled for the request being handled (each request's handler runs in its own context)
_watch_fault: contextvars.ContextVar[WatchFault | None] = contextvars.ContextVar("sandbox_watch_fault", default=None)


def watch_fault() -> WatchFault | None:
    """For WatchStream: the drop-watch, gone or stall fault rolled for the current request, if any."""
    return _watch_fault.get()


class ApiFaults:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.counts = dict.fromkeys(ORDER, 0)
        self._random = random.Random(config.seed)
        self._log: IO[str] | None = None
        if config.log_path is not None:
            config.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = config.log_path.open("a", encoding="utf-8")

    def describe(self) -> str:
        rates = ",".join(f"{name}={rate:g}" for name, rate in self.config.rates.items())
        agent = f", User-Agent containing {self.config.agent!r}" if self.config.agent else ""
        return f"{rates} (seed {self.config.seed}{agent})"

    def _roll(self, request: web.Request) -> tuple[str | None, bool]:
        """The fault for this request (or None) and whether it is a watch; one draw per eligible request."""
        user_agent = request.headers.get("User-Agent") or ""
        if self.config.agent is not None and self.config.agent not in user_agent:
            return None, False
        attrs = attributes(request.method, request.path, request.query, user_agent)
        if "nonResourceURL" in attrs:
            return None, False
        if self.config.only is not None and (attrs["verb"], attrs["resource"]) not in self.config.only:
            return None, False
        watch = attrs["verb"] == "watch"
        resumes = watch and (request.query.get("resourceVersion") or "0") != "0"
        draw, edge = self._random.random(), 0.0
        for name in ORDER:
            if (name in SILENCED and not watch) or (name == "gone" and not resumes):
                continue
            edge += self.config.rates.get(name, 0.0)
            if draw < edge:
                return name, watch
        return None, watch

    async def handle(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """Roll, then: answer an error instead of calling ``handler``, delay it, or hand a watch fault to it."""
        name, watch = self._roll(request)
        if name is None:
            return await handler(request)
        if name == "latency":
            seconds = self._random.uniform(*self.config.latency)
            self.record(request, name, seconds, watch)
            await asyncio.sleep(seconds)
            return await handler(request)
        if name in WATCH_ONLY:
            after = {"drop-watch": self.config.drop_after, "stall": self.config.stall_after}.get(name, 0.0)
            seconds = self._random.uniform(0.0, after) if name in SILENCED else 0.0
            token = _watch_fault.set(WatchFault(name, seconds, self, request))
            try:
                return await handler(request)
            finally:
                _watch_fault.reset(token)
        if name == "504" and not watch:  # applied, then the answer is lost on its way back
            answered = await handler(request)
            if answered.status >= 300:  # nothing was applied: the true answer goes back
                return answered
        self.record(request, name, None, watch)
        code, reason, message = _ERRORS[name]
        headers = {}
        details: dict[str, Any] | None = None
        if code in (429, 503):
            headers["Retry-After"] = str(self.config.retry_after)
            details = {"retryAfterSeconds": self.config.retry_after}
        error = ApiError(code, message, reason=reason, details=details)
        return web.json_response(error.status(), status=code, headers=headers)

    def record(self, request: web.Request, name: str, seconds: float | None = None, watch: bool = True) -> None:
        self.counts[name] += 1
        if self._log is None:
            return
        entry: dict[str, Any] = {"time": time.time(), "fault": name, "method": request.method, "path": request.path,
                                 "watch": watch, "userAgent": request.headers.get("User-Agent")}
        if seconds is not None:
            entry["seconds"] = seconds
        self._log.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._log.flush()

    def metric_lines(self) -> list[str]:
        return ["# TYPE sandbox_injected_api_faults_total counter",
                *(f'sandbox_injected_api_faults_total{{fault="{name}"}} {n}' for name, n in self.counts.items())]

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
