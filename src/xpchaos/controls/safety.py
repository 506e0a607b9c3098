"""A Chaos Toolkit control that guarantees the run's faults are undone, whatever happened to the rollbacks.

```json
"controls": [{"name": "xpchaos-safety", "provider": {"type": "python", "module": "xpchaos.controls.safety"}}]
```

Chaos Toolkit stops playing rollbacks at a second Ctrl-C or a SIGTERM during the rollbacks, and a rollback can
fail. After the experiment (rollbacks included) this control replays every undo record of this target written
since the experiment began and still outstanding, newest first, with SIGINT and SIGTERM held until it is done
(a signal that arrived meanwhile marks the run interrupted). What it cannot undo stays in the undo log for
``xpchaos restore``, and the journal says so. It also makes SIGTERM stop the method at once, as Ctrl-C does.

Before anything runs it checks the target as every command does (it loads, and it allows this kube context:
``xpchaos.core.kube.check_context``), and that the identity holds every permission the experiment needs
(``xpchaos.controls.permissions``); if not, plain ``chaos run`` ends there with one line and exit code 2, having
changed nothing. Then it takes the target's Lease (``xpchaos.core.lease``: one fault at a time per target) and
holds it until the last undo is replayed; another run holding it ends ``chaos run`` the same way, naming the holder
and since when. Under ``xpchaos run``, a game day or a gate, which hold the Lease already, it joins theirs.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from xpchaos.actions import restore
from xpchaos.actions._common import load_target, same_target, target_path, undo_log
from xpchaos.controls import permissions
from xpchaos.core import interrupts, kube, lease
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.core.undo_log import UndoLog

logger = logging.getLogger("chaostoolkit")
EXTENSION = "xpchaos-safety"
_started: dict[str, float] = {}
_phase: dict[str, str | None] = {"now": None}
_handlers: dict[int, Any] = {}
_lease: dict[str, lease.Lease] = {}


def configure_control(configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
                      experiment: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """Refuse a target that is wrong or may not change this context, and an identity that lacks a permission the
    experiment needs (``xpchaos.controls.permissions``), before any activity or control changes the cluster.
    chaoslib drops a control whose configure_control raises, and runs on: so this exits instead."""
    try:
        target = targets.load(target_path(configuration))
        kube.check_context(target)
        if experiment is not None:
            permissions.require_for(experiment, target, configuration, secrets, "chaos run")
        _release_lease()  # a control configured twice in one process holds one lease
        _lease["held"] = lease.take(target, "chaos run")
        # chaoslib may skip the after-experiment and cleanup controls when an interrupt escapes a rollback; the
        # interpreter's exit still runs this (a SIGKILL leaves it to `xpchaos restore --target` or its expiry)
        atexit.register(_release_lease)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(InputError.EXIT_CODE) from None


def _release_lease() -> None:
    held = _lease.pop("held", None)
    if held is not None:
        held.end()


def cleanup_control() -> None:
    """chaoslib's last call, also when the run stopped early: the lease is released if it is still held."""
    _release_lease()


def before_experiment_control(context: dict[str, Any], configuration: dict[str, Any] | None = None,
                              secrets: dict[str, Any] | None = None, **kwargs: Any) -> None:
    _started["at"] = time.time()
    # chaoslib turns SIGTERM into InterruptExecution, an Exception the running activity records as its own failure,
    # and the method goes on (a probe may wait out its whole SLO before the rollbacks). As a KeyboardInterrupt it
    # stops the method at once, like Ctrl-C, and the rollbacks run; and an interrupt swallowed by a finalizer is
    # raised again at the next safe point (xpchaos.core.interrupts).
    _handlers.update(interrupts.install())


def before_activity_control(context: dict[str, Any], **kwargs: Any) -> None:
    if _phase.get("now") == "method":
        interrupts.check()


def after_activity_control(context: dict[str, Any], **kwargs: Any) -> None:
    if _phase.get("now") == "method":
        interrupts.check()


def before_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = "method"
    interrupts.check()


def after_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = None


def before_rollback_control(context: dict[str, Any], **kwargs: Any) -> None:
    _phase["now"] = "rollbacks"
    interrupts.clear()  # the interrupt has done its work: nothing may stop the rollbacks


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM (main thread only) while the block runs; the caller reads what arrived."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def leftovers(log: UndoLog, configuration: dict[str, Any] | None, since: float) -> list[dict[str, Any]]:
    target = load_target(configuration)
    return [r for r in log.outstanding() if r.get("created", 0) >= since and same_target(r, target)]


def after_experiment_control(context: dict[str, Any], state: Any = None,
                             configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None,
                             **kwargs: Any) -> None:
    since = _started.pop("at", None)
    _phase["now"] = None
    interrupts.restore(_handlers)
    _handlers.clear()
    if since is None:
        return
    report: dict[str, Any] = {"name": EXTENSION, "replayed": [], "outstanding": []}
    with signals_held() as held:
        log = undo_log(configuration)
        pending = leftovers(log, configuration, since)
        if pending:
            logger.warning("xpchaos safety: %d fault(s) not undone by the rollbacks; undoing them now",
                           len(pending))
            target = load_target(configuration)
            ids = {r["id"] for r in pending}
            for item in restore.replay(log, target, only=ids):
                (report["outstanding"] if item.error else report["replayed"]).append(item.line())
                (logger.error if item.error else logger.info)("xpchaos safety: %s", item.line())
        _release_lease()  # the rollbacks and the replay are over: no fault of this run can be put in place any more
    if report["outstanding"]:
        logger.error("xpchaos safety: some faults are still in place; run `xpchaos restore` (undo log %s)",
                     undo_log(configuration).path)
    if isinstance(state, dict) and (report["replayed"] or report["outstanding"]):
        state.setdefault("extensions", []).append(report)
    if held and isinstance(state, dict):  # the run ends as interrupted, with its journal, rather than mid-teardown
        logger.warning("xpchaos safety: %s arrived while undoing; the run ends as interrupted",
                       signal.Signals(held[0]).name)
        state["status"] = "interrupted"
