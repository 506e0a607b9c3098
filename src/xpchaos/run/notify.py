"""Tell a chat channel how a run went: a Slack-compatible webhook (``{"text": ..., "blocks": [...]}``; Mattermost,
Rocket.Chat, Teams workflows and most chat tools accept the same).

The webhook's URL comes only from the environment, ``XPCHAOS_WEBHOOK_URL``, never from a file in the repository:
such URLs embed their token. Without it nothing is sent. A failed post (refused, timed out, an HTTP error) is
logged as one line naming the webhook's host only, never its path or query, and never raises into the run.

- ``notify(url, summary)``: post a summary (``summary_of_journal`` / ``summary_of_gate`` build one).
- ``notify_gate(url, report, report_path)``: a gate's or game day's ``GateReport``.
- As a Chaos Toolkit control, ``{"name": "xpchaos-notify", "provider": {"type": "python", "module":
  "xpchaos.run.notify"}}``: after the experiment it posts the run's verdict. List it after ``xpchaos-timeline``
  (controls run in the order listed, and that one writes the verdict into the journal); before it, the verdict is
  computed from the journal as it stands. The journal's path is known when the control's ``arguments`` give
  ``journal_path``, or from ``chaos run --journal-path`` (default ``journal.json``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from xpchaos import verdict as verdicts
from xpchaos.core import measures
from xpchaos.core.outcome import Outcome
from xpchaos.run import report_model as rm

# urllib.request, not aiohttp: the control is called synchronously in chaoslib's main thread and the gate's CLI is
# synchronous too; a blocking POST with a timeout needs no event loop (aiohttp would need one, and must not start
# one inside a caller that may already run a loop). It also honours HTTPS_PROXY / NO_PROXY as CI runners expect.
ENV = "XPCHAOS_WEBHOOK_URL"
TIMEOUT_S = 10.0
MAX_BLOCKS = 50  # Slack's limit per message
MAX_SECTION_CHARS = 3000  # Slack's limit for a section's text
MAX_HEADER_CHARS = 150  # Slack's limit for a header's plain text
ICONS = {Outcome.PASSED: ":white_check_mark:", Outcome.FAILED: ":x:", Outcome.NOT_APPLIED: ":warning:",
         Outcome.ERROR: ":warning:", Outcome.SKIPPED: ":heavy_minus_sign:", Outcome.INTERRUPTED: ":octagonal_sign:"}

logger = logging.getLogger("xpchaos.notify")


def webhook_url() -> str | None:
    """The webhook's URL from ``$XPCHAOS_WEBHOOK_URL``, or None."""
    return os.environ.get(ENV, "").strip() or None


def host_of(url: str) -> str:
    """What may be logged about a webhook: its host (and port), never its path, query or user info."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"


def _why(exc: BaseException) -> str:
    """A failure in words that cannot contain the URL (urllib's own messages may quote it)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return f"timed out after {TIMEOUT_S:.0f} s"
        if isinstance(reason, OSError):
            return reason.strerror or type(reason).__name__
        return "cannot connect"
    if isinstance(exc, TimeoutError):
        return f"timed out after {TIMEOUT_S:.0f} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


# what is said ----------------------------------------------------------------------------------------------------
def _mrkdwn(text: Any) -> str:
    """Slack's escaping: only &, < and > are special (a '<' would start a link)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def scenario_summary(name: str, outcome: Outcome, found: verdicts.Verdict | None, reason: str = "") -> dict[str, Any]:
    return {"name": name, "verdict": outcome, "reason": reason or (found.reason if found else ""),
            "fault": found.fault if found else None, "provider": found.provider if found else None,
            "times": dict(found.times) if found else {}, "slo_s": found.slo_s if found else None}


def summary_of_journal(journal: dict[str, Any], journal_path: str | None = None) -> dict[str, Any]:
    """One ``chaos run``: its verdict (the ``xpchaos-verdict`` extension, else computed from the journal)."""
    found = verdicts.from_extensions(journal) or verdicts.of_journal(journal)
    title = found.experiment or str((journal.get("experiment") or {}).get("title", "experiment"))
    return {"title": title, "verdict": found.outcome, "headline": found.headline(), "exit_code": found.exit_code,
            "report": journal_path, "scenarios": [scenario_summary(title, found.outcome, found)]}


def summary_of_gate(report: rm.GateReport, report_path: str | None = None) -> dict[str, Any]:
    """A gate's or game day's run: its exit code decides the headline (1 wins over 2, as in the gate)."""
    code = report.exit_code
    outcome = Outcome.of_exit_code(code) if code is not None else Outcome.ERROR
    passed = sum(1 for s in report.scenarios if s.outcome == Outcome.PASSED)
    counted = sum(1 for s in report.scenarios if s.outcome != Outcome.SKIPPED)
    counts = f"{passed} of {counted} scenarios passed"
    headline = f"{report.exit_meaning}; {counts}" if report.exit_meaning else counts
    return {"title": report.title, "verdict": outcome, "headline": headline,
            "exit_code": code, "report": report_path, "target": report.target,
            "scenarios": [scenario_summary(s.name, s.outcome, s.verdict, s.message.splitlines()[0]
                                           if s.message else "") for s in report.worst_first()]}


def message(summary: dict[str, Any]) -> dict[str, Any]:
    """The Slack-compatible message: ``text`` (the fallback notifications show) and ``blocks``."""
    word = Outcome.parse(summary.get("verdict")).alert
    title = str(summary.get("title") or "xpchaos")
    report = summary.get("report")
    text = f"xpchaos: {word}: {title}"
    if summary.get("headline"):
        text += f" ({summary['headline']})"
    if summary.get("exit_code") is not None:
        text += f", exit {summary['exit_code']}"
    if report:
        text += f". Report: {report}"
    header = f"{word}: {title}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:MAX_HEADER_CHARS], "emoji": True}}]
    if summary.get("headline"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(summary["headline"])
                                                   [:MAX_SECTION_CHARS]}})
    scenarios = list(summary.get("scenarios") or [])
    room = MAX_BLOCKS - len(blocks) - 2  # keep room for "and N more" and the report's context block
    for item in scenarios[:room]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _scenario_text(item)}})
    if len(scenarios) > room:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {len(scenarios) - room} more scenarios: see the report"}]})
    if report:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Report: `{_mrkdwn(report)}`"}]})
    return {"text": text, "blocks": blocks}


def _scenario_text(item: dict[str, Any]) -> str:
    outcome = Outcome.parse(item.get("verdict"))
    lines = [f"{ICONS[outcome]} *{_mrkdwn(item.get('name', ''))}*: {_mrkdwn(outcome.alert)}"]
    lost = " / ".join(_mrkdwn(v) for v in (item.get("fault"), item.get("provider")) if v)
    if lost:
        lines[0] += f" ({lost})"
    times = item.get("times") or {}
    slo = item.get("slo_s")
    if any(times.get(m.key) is not None for m in measures.MEASURES) or slo is not None:
        figures = ", ".join(f"{m.short} {measures.seconds(times.get(m.key))}" for m in measures.MEASURES)
        lines.append(f"{figures} (SLO {measures.seconds(slo)})")
    if outcome != Outcome.PASSED and item.get("reason"):
        lines.append(f"_{_mrkdwn(item['reason'])}_")
    return "\n".join(lines)[:MAX_SECTION_CHARS]


# sending ---------------------------------------------------------------------------------------------------------
def notify(url: str | None, summary: dict[str, Any]) -> None:
    """POST ``message(summary)`` to ``url`` (nothing without one). Never raises: a failure is one log line that
    names the webhook's host only."""
    if not url:
        return
    host = host_of(url)
    try:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            logger.warning("xpchaos notify: not sent to %s: the webhook URL is not http(s)", host)
            return
        body = json.dumps(message(summary), default=str).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "User-Agent": "xpchaos-notify"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # the scheme is checked above
            response.read(1024)
        logger.info("xpchaos notify: sent to %s", host)
    except Exception as exc:  # never into the run: the notification is a courtesy
        logger.warning("xpchaos notify: not sent to %s: %s", host, _why(exc))


def notify_gate(url: str | None, report: rm.GateReport, report_path: Any = None) -> None:
    """Post a gate's or game day's result (``report_path``: its index.html, as people can reach it)."""
    if not url:
        return
    try:
        summary = summary_of_gate(report, str(report_path) if report_path is not None else None)
    except Exception as exc:
        logger.warning("xpchaos notify: not sent to %s: could not summarise the report (%s)", host_of(url),
                       type(exc).__name__)
        return
    notify(url, summary)


# the Chaos Toolkit control ---------------------------------------------------------------------------------------
def _journal_path_from_argv(argv: list[str]) -> str | None:
    """``chaos run --journal-path P`` (default ``journal.json``) when this process is the chaos CLI."""
    if not argv or os.path.basename(argv[0]) not in ("chaos", "chaostoolkit") or "run" not in argv[1:]:
        return None
    for i, arg in enumerate(argv):
        if arg == "--journal-path" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--journal-path="):
            return arg.split("=", 1)[1]
    return "./journal.json"


def after_experiment_control(context: dict[str, Any], state: Any = None, journal_path: str | None = None,
                             **kwargs: Any) -> None:
    """Post the run's verdict when ``$XPCHAOS_WEBHOOK_URL`` is set (``state``: the journal)."""
    url = webhook_url()
    if not url or not isinstance(state, dict):
        return
    try:
        summary = summary_of_journal(state, journal_path or _journal_path_from_argv(sys.argv))
    except Exception as exc:
        logger.warning("xpchaos notify: not sent to %s: could not summarise the journal (%s)", host_of(url),
                       type(exc).__name__)
        return
    notify(url, summary)
