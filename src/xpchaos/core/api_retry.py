"""Retries of Kubernetes API requests the server asked to be retried, with tenacity.

Every client ``xpchaos.core.kube`` makes sends its requests through ``RetryingRESTClient``. An answer 429, 500, 502,
503 or 504, or a connection broken mid-answer, is tried again: after the server's ``Retry-After`` when it sends one
(capped at ``RETRY_AFTER_CAP``), else after an exponential backoff with jitter; at most ``ATTEMPTS`` attempts within
``BUDGET`` seconds, then the last answer goes to the caller as it came (an ``ApiException`` with its status).

Any verb is retried, as client-go does for 429 and 5xx answers that carry Retry-After: an API server refuses those
before it changes anything (priority and fairness, an unavailable backend). The harness's own writes are also safe
to repeat when an answer was lost: merge patches of absolute values, creates whose 409 the callers read as
"already there", deletes whose 404 as "already gone". kubernetes' own opt-in ``client_go_retries`` only covers
GET and HEAD, which would leave the rollbacks (PATCH, PUT, POST, DELETE) to fail on the first 503.

``stats()`` counts the retries made in this process, by reason; the timeline control writes them into the journal.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from typing import Any

from kubernetes.client import rest
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from xpchaos.core.errors import XpchaosError

logger = logging.getLogger("xpchaos.api")

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
ATTEMPTS = 8
BUDGET = 30.0  # seconds spent retrying one request, at most
RETRY_AFTER_CAP = 10.0
BACKOFF_BASE, BACKOFF_CAP = 0.2, 5.0

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def count(reason: str) -> None:
    """Count one retry (also used by the timeline recorder for its watch reconnections and stalled watches)."""
    with _lock:
        _counts[reason] += 1


def stats() -> dict[str, int]:
    """Retries made in this process so far: ``{"total": N, "<reason>": n, ...}``."""
    with _lock:
        return {"total": sum(_counts.values()), **dict(sorted(_counts.items()))}


def reset() -> None:
    with _lock:
        _counts.clear()


class _Refused(XpchaosError):
    """An answer worth another attempt; holds it so the last one can be handed back."""

    def __init__(self, response: rest.RESTResponse) -> None:
        super().__init__(f"{response.status} {response.reason}")
        self.response = response


def _retry_after(response: rest.RESTResponse) -> float | None:
    value = (response.headers or {}).get("Retry-After")
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP) if value is not None else None
    except ValueError:  # an HTTP date: use the backoff instead
        return None


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _Refused):
        after = _retry_after(exc.response)
        if after is not None:
            return after
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (state.attempt_number - 1)) * random.uniform(0.8, 1.2)


def _release(response: rest.RESTResponse) -> None:
    """Read and close an answer that will not be handed back, so its connection returns to the pool."""
    try:
        response.read()
    except Exception:  # already consumed, or the connection is gone: nothing to give back
        pass
    finally:
        raw = getattr(response, "response", None)
        if raw is not None and hasattr(raw, "release_conn"):
            raw.release_conn()


class RetryingRESTClient:
    """Wraps kubernetes' ``RESTClientObject``: same ``request`` signature, retries as the module says."""

    def __init__(self, inner: rest.RESTClientObject) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:  # pool_manager, close(), ...: the wrapped client's
        return getattr(self._inner, name)

    def request(self, method: str, url: str, headers: Any = None, body: Any = None, post_params: Any = None,
                _request_timeout: Any = None) -> rest.RESTResponse:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = str(exc.response.status) if isinstance(exc, _Refused) else type(exc).__name__
            if isinstance(exc, _Refused):
                _release(exc.response)
            count(reason)
            logger.info("%s %s: %s; attempt %d in %.1f s", method, url.split("?")[0], exc,
                        state.attempt_number + 1, state.upcoming_sleep)

        def give_back(state: RetryCallState) -> rest.RESTResponse:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Refused):
                return exc.response  # the caller sees the server's answer, as without retries
            assert exc is not None
            raise exc

        def attempt() -> rest.RESTResponse:
            response = self._inner.request(method, url, headers=headers, body=body, post_params=post_params,
                                           _request_timeout=_request_timeout)
            if response.status in RETRIED_STATUSES:
                raise _Refused(response)
            return response

        retrying = Retrying(retry=retry_if_exception_type((_Refused, ProtocolError)), wait=_wait,
                            stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(BUDGET), sleep=time.sleep,
                            before_sleep=before_sleep, retry_error_callback=give_back)
        return retrying(attempt)  # type: ignore[no-any-return]


def no_hidden_retries(api: Any, connection_retries: int = 3) -> Any:
    """urllib3's default ``Retry`` resends a GET answered 429 or 503 with Retry-After three times, unseen and
    uncounted; leave it retrying broken connections only, so every status is decided (and counted) here."""
    api.configuration.retries = Retry(connection_retries, status=0, status_forcelist=(),
                                      respect_retry_after_header=False)
    api.rest_client = rest.RESTClientObject(api.configuration)  # the pool reads ``retries`` when it is made
    return api


def install(api: Any) -> Any:
    """Make ``api`` (a ``kubernetes.client.ApiClient``) retry as the module says; returns it."""
    if not isinstance(api.rest_client, RetryingRESTClient):
        api.rest_client = RetryingRESTClient(api.rest_client)
    return api
