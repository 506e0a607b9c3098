"""Timeline entries as words (xpchaos.report.timeline_text): a DNS answer says its TTL, and while a run goes on the
live view reads both DNS clocks from the entries."""

from __future__ import annotations

from typing import Any

import pytest

from xpchaos.report.timeline_text import describe, dns_clocks


def _answer(mono: float, answers: list[str], ttl: int | None, nameserver: str = "127.0.0.1:53") -> dict[str, Any]:
    return {"source": "dns", "what": "answer", "name": "api.xpchaos.test", "nameserver": nameserver,
            "answers": answers, "ttl": ttl, "mono": mono}


def test_an_answer_says_its_ttl() -> None:
    assert describe(_answer(1.0, ["192.0.2.10"], 60))[2] == "answers 192.0.2.10 (TTL 60 s)"
    assert describe(_answer(1.0, ["192.0.2.10"], None))[2] == "answers 192.0.2.10"  # a journal from before TTLs


def test_the_live_view_reads_both_dns_clocks_once_the_nameservers_switched() -> None:
    entries = [_answer(5.0, ["192.0.2.10"], 30, "a:53"), _answer(5.0, ["192.0.2.10"], 10, "b:53"),
               {"what": "mark", "status": "injected", "kind": "f", "mono": 10.0}]
    assert dns_clocks(entries) is None  # nothing switched yet
    entries += [_answer(12.0, ["198.51.100.20"], 30, "a:53"), _answer(13.5, ["198.51.100.20"], 30, "b:53")]
    authoritative, client = dns_clocks(entries) or (None, None)
    assert authoritative == pytest.approx(3.5)  # the last nameserver to switch
    assert client == pytest.approx(32.0)  # a's old answer (TTL 30) last served at 2 s; b's (TTL 10) at 3.5 s
    assert dns_clocks([{"what": "answer", "mono": 1.0}]) is None  # no fault yet
