"""Waiting on a condition with a deadline: the one way the tests wait for something that has no event to block on.

A test never sleeps for a fixed time in place of a condition; it polls the condition and fails, naming what it
waited for and the last value seen, when the deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.05, what: str = "the condition",
             retry_on: tuple[type[Exception], ...] = ()) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return that.

    Fails with an AssertionError naming ``what`` after ``timeout`` seconds. An exception of a type in ``retry_on``
    (a server or nameserver not answering yet) counts as "not yet"; any other exception, an AssertionError
    included, ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except retry_on as exc:
            last: object = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")
        time.sleep(interval)
