"""Ctrl-C and SIGTERM that cannot get lost while an experiment runs.

Python raises KeyboardInterrupt wherever the main thread happens to be; when that is inside a finalizer (a
garbage-collected client or thread pool), the exception is printed as "ignored" and the run goes on as if nothing
happened. So the handler also leaves a mark, and the run checks it at safe points (before and after each activity
of the method, and while a probe waits): a lost interrupt is raised again there. The mark is cleared when the
rollbacks begin, so it never stops them.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_pending = threading.Event()


def _handler(signum: int, _frame: Any) -> None:
    _pending.set()
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def install() -> dict[int, Any]:
    """Handle SIGINT and SIGTERM (main thread only); returns the handlers to put back with ``restore``."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _pending.clear()
    return {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    _pending.clear()


def check() -> None:
    """Raise the interrupt again if one arrived and was swallowed on its way."""
    if _pending.is_set() and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt("interrupted (signal received earlier)")


def clear() -> None:
    _pending.clear()
