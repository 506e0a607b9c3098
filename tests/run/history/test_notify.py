"""xpchaos.run.notify: a real local webhook (aiohttp on 127.0.0.1) receives the POSTs; failures never raise and log
the host only, never the path that holds the token."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from xpchaos.core.outcome import Outcome
from xpchaos.run import notify
from xpchaos.run import report_model as rm

from .helpers import OTHER, SCENARIO, journal, scenario

TOKEN_PATH = "/services/T0SECRET/B0SECRET/XXXXtokenXXXX"


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook("")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: dict[str, Any] = {}

    async def receive(request: web.Request) -> web.Response:
        hook.received.append({"path": request.path, "headers": dict(request.headers), "json": await request.json()})
        return web.Response(status=hook.status, text="ok" if hook.status == 200 else "boom")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", receive)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        hook.url = f"http://127.0.0.1:{port}{TOKEN_PATH}?token=QUERYSECRET"
        stop["event"] = asyncio.Event()
        ready.set()
        await stop["event"].wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield hook
    finally:
        loop.call_soon_threadsafe(stop["event"].set)
        thread.join(10)
        loop.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(notify.ENV, raising=False)


def _secret_free(caplog: pytest.LogCaptureFixture) -> None:
    for secret in ("T0SECRET", "B0SECRET", "tokenXXXX", "QUERYSECRET", "services"):
        assert secret not in caplog.text


def test_a_journal_summary_is_posted_as_slack_json(webhook: Webhook) -> None:
    doc = journal("failed", detect=4.0, failover=20.0, dns=100.0, dns_client=102.0)
    notify.notify(webhook.url, notify.summary_of_journal(doc, "reports/runs/x/journal.json"))
    [got] = webhook.received
    assert got["path"] == TOKEN_PATH
    assert got["headers"]["Content-Type"].startswith("application/json")
    body = got["json"]
    assert set(body) == {"text", "blocks"}
    assert "NOT RESILIENT" in body["text"] and "reports/runs/x/journal.json" in body["text"]
    assert body["blocks"][0]["type"] == "header" and "NOT RESILIENT" in body["blocks"][0]["text"]["text"]
    texts = "\n".join(str(b) for b in body["blocks"])
    assert "detect 4.0 s, fail over 20.0 s, DNS auth 100.0 s, DNS client 102.0 s (SLO 90.0 s)" in texts
    assert "step dns_secondary was 12.0 s late" in texts
    assert "reports/runs/x/journal.json" in texts


def test_notify_gate_posts_every_scenario_worst_first(webhook: Webhook) -> None:
    report = rm.GateReport("xpchaos resilience gate", [scenario(), scenario(Outcome.FAILED, name=OTHER, dns=120.0),
                                                       scenario(Outcome.SKIPPED, name="<skipped & such>")],
                           exit_code=1, exit_meaning="not resilient: the platform failed a failover expectation")
    notify.notify_gate(webhook.url, report, "reports/20250101T000000Z/index.html")
    [got] = webhook.received
    body = got["json"]
    assert body["text"].startswith("xpchaos: NOT RESILIENT: xpchaos resilience gate")
    assert "1 of 2 scenarios passed" in body["text"] and "reports/20250101T000000Z/index.html" in body["text"]
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    names = [s for s in sections if "*" in s]
    assert OTHER in names[0] and SCENARIO in names[1]  # worst first
    assert "&lt;skipped &amp; such&gt;" in "".join(sections)  # Slack's escaping


def test_without_the_environment_variable_nothing_is_sent(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="xpchaos.notify")
    notify.notify(notify.webhook_url(), notify.summary_of_journal(journal()))
    notify.notify_gate(notify.webhook_url(), rm.GateReport("gate", [scenario()], exit_code=0))
    notify.after_experiment_control({}, state=journal())
    assert webhook.received == [] and caplog.records == []


def test_a_server_answering_500_is_one_log_line_with_the_host_only(webhook: Webhook,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    webhook.status = 500
    caplog.set_level(logging.INFO, logger="xpchaos.notify")
    notify.notify(webhook.url, notify.summary_of_journal(journal()))  # no exception
    assert len(webhook.received) == 1
    [line] = caplog.records
    assert line.levelno == logging.WARNING
    assert line.getMessage() == f"xpchaos notify: not sent to {notify.host_of(webhook.url)}: HTTP 500"
    assert "127.0.0.1" in line.getMessage()
    _secret_free(caplog)


def test_a_server_not_listening_is_one_log_line_with_the_host_only(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level(logging.INFO, logger="xpchaos.notify")
    url = f"http://user:pw@127.0.0.1:{port}{TOKEN_PATH}?token=QUERYSECRET"
    notify.notify(url, notify.summary_of_journal(journal()))
    [line] = caplog.records
    assert line.getMessage().startswith(f"xpchaos notify: not sent to 127.0.0.1:{port}: ")
    assert "pw" not in line.getMessage()
    _secret_free(caplog)


def test_a_bad_url_never_raises_nor_shows_its_path(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="xpchaos.notify")
    notify.notify(f"ftp://hooks.example{TOKEN_PATH}", {"verdict": "passed"})
    notify.notify(f"http://[::1{TOKEN_PATH}", {"verdict": "passed"})
    assert len(caplog.records) == 2
    _secret_free(caplog)


def test_the_control_posts_through_chaoslib(webhook: Webhook, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    from chaoslib.experiment import run_experiment

    monkeypatch.setenv(notify.ENV, webhook.url)
    experiment = {
        "version": "1.0.0", "title": "a probe that looks at a path",
        "description": "the smallest experiment that runs controls",
        "method": [{"type": "probe", "name": "path-exists", "provider": {
            "type": "python", "module": "os.path", "func": "exists", "arguments": {"path": str(tmp_path)}}}],
        "controls": [{"name": "xpchaos-notify", "provider": {
            "type": "python", "module": "xpchaos.run.notify", "arguments": {"journal_path": "reports/j.json"}}}]}
    result = run_experiment(experiment)
    assert result["status"] == "completed"
    [got] = webhook.received
    body = got["json"]
    assert "resilient: a probe that looks at a path" in body["text"]
    assert "reports/j.json" in body["text"]


def test_the_journal_path_of_a_plain_chaos_run() -> None:
    assert notify._journal_path_from_argv(["/x/bin/chaos", "run", "e.json", "--journal-path", "j.json"]) == "j.json"
    assert notify._journal_path_from_argv(["chaos", "run", "--journal-path=k.json", "e.json"]) == "k.json"
    assert notify._journal_path_from_argv(["chaos", "run", "e.json"]) == "./journal.json"
    assert notify._journal_path_from_argv(["pytest", "run"]) is None
