"""The sandbox process: ``python -m xpchaos.sandbox serve``. Binds 127.0.0.1, writes kubeconfig and state, serves.

Readiness is announced by writing one JSON line to ``--ready-fd`` (and ``state.json``) only once the port is
bound, so a parent never has to poll or guess.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from . import api_faults, housekeeping, kubeconfig, profiles, tls, tokens
from .api import Settings, build_app
from .audit import AuditLog
from .cluster import Cluster

log = logging.getLogger("sandbox")
STATE_FILE = "state.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m xpchaos.sandbox serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--api-port", type=int, default=0, help="API port (0: any free port)")
    parser.add_argument("--dns-port", type=int, default=0, help="DNS port, UDP and TCP (0: any free port)")
    parser.add_argument("--state-dir", type=Path, default=Path(".xpchaos/sandbox"))
    parser.add_argument("--ready-fd", type=int, default=None, help="write the ready JSON line to this fd")
    parser.add_argument("--history-size", type=int, default=10_000, help="watch history kept for resumes")
    parser.add_argument("--bookmark-interval", type=float, default=5.0, help="seconds between watch bookmarks")
    parser.add_argument("--event-ttl", type=float, default=3600.0, help="seconds an Event lives after its last update")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--audit-log", type=Path, default=None, metavar="FILE",
                        help="append one JSON line per accepted API request (verb, resource, namespace, name, ...)")
    profiles.add_arguments(parser)
    api_faults.add_arguments(parser)
    tokens.add_arguments(parser)
    return parser.parse_args(argv)


def ready_document(api_url: str, state_dir: Path, running: profiles.Running) -> dict[str, Any]:
    return {
        "api": api_url,
        "kubeconfig": str((state_dir / "kubeconfig").resolve()),
        "dns": running.dns,
        "target": running.target,
        "pid": os.getpid(),
    }


async def serve(args: argparse.Namespace) -> None:
    fault_config = api_faults.config_from_args(args)  # a bad value stops here, before anything is bound
    profiles.check(args)  # so does a bad --platform
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    # handlers first: a signal that arrives while starting (or right after the ready line) still stops cleanly
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    token = secrets.token_urlsafe(32)
    cluster = Cluster(history_size=args.history_size)
    audit = AuditLog(args.audit_log) if args.audit_log is not None else None
    faults = api_faults.ApiFaults(fault_config) if fault_config is not None else None
    if faults is not None:
        log.info("API faults: %s", faults.describe())
    app = build_app(cluster, Settings(token=token, bookmark_interval=args.bookmark_interval, audit=audit,
                                      faults=faults, max_token_expiration=args.service_account_max_token_expiration,
                                      token_leeway=args.service_account_token_leeway))
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0,
                               handler_cancellation=True)  # a client that hangs up ends its watch
    await runner.setup()
    serving = tls.generate(args.host)
    site = web.TCPSite(runner, args.host, args.api_port, ssl_context=tls.server_context(serving, state_dir))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    api_url = f"https://{args.host}:{port}"
    kubeconfig.write(state_dir / "kubeconfig", api_url, token, serving.ca_pem)
    try:
        running = await profiles.start(args, cluster, state_dir)
    except Exception:
        await runner.cleanup()
        if audit is not None:
            audit.close()
        if faults is not None:
            faults.close()
        raise
    document = ready_document(api_url, state_dir, running)
    _write_state(state_dir, document)
    if args.ready_fd is not None:
        with os.fdopen(args.ready_fd, "w") as ready:
            ready.write(json.dumps(document) + "\n")
    log.info("sandbox API serving on %s (kubeconfig %s)", api_url, document["kubeconfig"])
    sweeper = asyncio.create_task(housekeeping.run(cluster, timedelta(seconds=args.event_ttl)))
    try:
        await stop.wait()
    finally:
        sweeper.cancel()
        log.info("sandbox stopping")
        await running.close()
        await runner.cleanup()
        if audit is not None:
            audit.close()
        if faults is not None:
            faults.close()
        with contextlib.suppress(FileNotFoundError):
            (state_dir / STATE_FILE).unlink()


def _write_state(state_dir: Path, document: dict[str, Any]) -> None:
    tmp = state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, state_dir / STATE_FILE)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError) as exc:
        print(f"sandbox: cannot start: {exc}", file=sys.stderr)
        return 2
    return 0
