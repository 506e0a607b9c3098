"""What one scenario carries from step to step: which target, the run's result, the snapshot taken before it.

The target comes from the ``xpchaos_platforms`` fixture (conftest.py): the sandbox platforms the session starts
on demand, or the user's ``--target FILE``. A Given may pick the platform; otherwise the first step that needs a
target gets the default one (blueprint, serving from aws; or the user's target).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
from parse import with_pattern

from xpchaos.core import dns_wiring, kube, platform_graph
from xpchaos.core import target as targets
from xpchaos.core.undo_log import UndoLog
from xpchaos.run import snapshot
from xpchaos.run.runner import RunResult

DEFAULT_PROFILE, DEFAULT_PRIMARY = "blueprint", "aws"


@with_pattern(r"[\w.-]+")
def _name(text: str) -> str:
    return text


NAME = {"Name": _name}  # a provider or object name in a step: no spaces
WAIT_STEADY = 60.0  # seconds a Given waits for the platform to be healthy (the previous scenario's failback)


class Platforms(Protocol):
    user_target: Path | None

    def target_for(self, profile: str, primary: str, speed: str = "fast", dns: str = dns_wiring.FUNCTION) -> Path:
        """The target file of a sandbox with this profile, primary, speed and DNS mode (started on first use)."""
        ...


def dns_wirings(target: targets.Target) -> set[str]:
    """How the target's DNS is wired: each record's ``wiring`` when every record states one, else each composite's
    wiring classified from the objects it composes, read through the API (GET only)."""
    stated = {getattr(record, "wiring", None) for record in target.dns}
    if stated and None not in stated:
        return {str(mode) for mode in stated}
    api = kube.api_client(target.kubeconfig, target.context)
    try:
        found = set()
        for ref in target.composites:
            objects = [platform_graph.read(api, composed) for composed in platform_graph.composed(api, ref)]
            found.add(dns_wiring.classify(o for o in objects if o is not None).mode)
        return found
    finally:
        api.close()


@dataclass
class World:
    platforms: Platforms
    target_path: Path | None = None
    result: RunResult | None = None
    before: snapshot.Snapshot | None = None
    started_at: float = 0.0  # wall clock when the When step began (undo records newer than this are the run's)
    undo_log: UndoLog = field(default_factory=UndoLog)
    journal_path: Path | None = None  # where the run's journal goes (set when the gate records the scenario)

    def use(self, profile: str, primary: str, speed: str = "fast", dns: str | None = None) -> None:
        """Pick the platform; against a user's target, a scenario that needs another kind of platform is skipped.
        ``dns`` asks for a DNS wiring (``xpchaos.core.dns_wiring.WIRINGS``); None takes the platform's own."""
        user = self.platforms.user_target
        if user is None:
            self.target_path = self.platforms.target_for(profile, primary, speed, dns or dns_wiring.FUNCTION)
            return
        if profile != DEFAULT_PROFILE:
            pytest.skip(f"needs the sandbox's {profile} profile; --target {user} is a real platform")
        self.target_path = user
        serving = self.target.primary.name
        if serving != primary:
            pytest.skip(f"needs a platform serving from {primary}; {user} serves from {serving}")
        if dns is not None:
            wired = dns_wirings(self.target)
            if wired != {dns}:
                pytest.skip(f"needs DNS wired by {dns}; {user}'s is wired by {', '.join(sorted(wired)) or 'nothing'}")

    @property
    def target(self) -> targets.Target:
        if self.target_path is None:
            self.use(DEFAULT_PROFILE, DEFAULT_PRIMARY)
        assert self.target_path is not None
        return targets.load(self.target_path)

    @property
    def run(self) -> RunResult:
        if self.result is None:
            raise AssertionError("no experiment has run in this scenario: a Then step needs a When step before it")
        return self.result
