"""Retries of Kubernetes API requests, with tenacity, only where a retry cannot do a change twice.

Every client ``xpchaos.core.kube`` makes sends its requests through ``RetryingRESTClient``. Reads (GET, HEAD,
OPTIONS; watches are GETs; and the POSTs of access and token reviews, which store nothing) are tried again on 429,
500, 502, 503 and 504 and on a connection broken mid-answer. Writes (POST, PUT, PATCH, DELETE) are tried again only
when the server said it changed nothing: 429 or 503 with a ``Retry-After`` (priority and fairness, an unavailable
backend: refused before any change, as client-go retries them), or when the request never left (a connection
refused or reset while connecting: urllib3's connect retries, ``no_hidden_retries``). A 500, 502 or 504 to a write,
or a connection broken after it was sent, may come after the change was applied (a gateway that timed out while the
API server went on): it goes to the caller as it came. A create that must not be lost uses ``create_or_adopt``,
which creates again and counts a 409 as success only when the object there is the caller's own (its undo id, the
Lease's holder); a delete, ``delete_or_gone``, which deletes again and reads a 404 as done.

A retry waits the server's ``Retry-After`` when it sends one (capped at ``RETRY_AFTER_CAP``), else an exponential
backoff with jitter; at most ``ATTEMPTS`` attempts within ``BUDGET`` seconds, then the last answer goes to the
caller as it came (an ``ApiException`` with its status). kubernetes' own opt-in ``client_go_retries`` only covers
GET and HEAD, which would leave the rollbacks (PATCH, PUT, POST, DELETE) to fail on the first 429.

``stats()`` counts the retries made in this process, by reason; the timeline control writes them into the journal.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes.client import rest
from kubernetes.client.rest import ApiException
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from xpchaos.core.errors import XpchaosError

logger = logging.getLogger("xpchaos.api")

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})  # for reads
REFUSED_BEFORE_CHANGE = frozenset({429, 503})  # for writes, with Retry-After: the server changed nothing
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})  # a write answered so may have been applied
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that are questions, not changes: the API server stores nothing (access and token reviews)
QUESTIONS = ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews",
             "selfsubjectrulesreviews", "selfsubjectreviews", "tokenreviews")
ATTEMPTS = 8
BUDGET = 30.0  # seconds spent retrying one request, at most
RETRY_AFTER_CAP = 10.0
BACKOFF_BASE, BACKOFF_CAP = 0.2, 5.0

T = TypeVar("T")
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


def reads_only(method: str, url: str) -> bool:
    """A request that changes nothing: a read, or a POST of a review (a question the server stores nothing for)."""
    if method.upper() in READS:
        return True
    return method.upper() == "POST" and url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] in QUESTIONS


def retried(method: str, url: str, response: rest.RESTResponse) -> bool:
    """Whether this answer may be retried without risking a change made twice."""
    if reads_only(method, url):
        return response.status in RETRIED_STATUSES
    return response.status in REFUSED_BEFORE_CHANGE and (response.headers or {}).get("Retry-After") is not None


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
            if retried(method, url, response):
                raise _Refused(response)
            return response

        # a connection broken mid-answer: the write may have been applied, only a read is asked again
        broken = (_Refused, ProtocolError) if reads_only(method, url) else (_Refused,)
        retrying = Retrying(retry=retry_if_exception_type(broken), wait=_wait,
                            stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(BUDGET), sleep=time.sleep,
                            before_sleep=before_sleep, retry_error_callback=give_back)
        return retrying(attempt)  # type: ignore[no-any-return]


def no_hidden_retries(api: Any, connection_retries: int = 3) -> Any:
    """urllib3's default ``Retry`` resends a GET answered 429 or 503 with Retry-After three times, unseen and
    uncounted, and resends a PUT or DELETE whose connection broke after it was sent; leave it retrying connections
    that failed before the request left (any verb) and broken reads, so every status is decided (and counted)
    here and no write is sent twice unseen."""
    api.configuration.retries = Retry(connection_retries, connect=connection_retries, read=connection_retries,
                                      status=0, status_forcelist=(), allowed_methods=READS,
                                      respect_retry_after_header=False)
    api.rest_client = rest.RESTClientObject(api.configuration)  # the pool reads ``retries`` when it is made
    return api


def create_or_adopt(create: Callable[[], T], read: Callable[[], T], ours: Callable[[T], bool],
                    what: str) -> T:
    """Create an object whose create may have been applied though its answer was lost (a 500, 502 or 504, a
    connection broken after the request was sent): create again; a 409 then counts as success only when the object
    there is ours (``ours(read())``: it carries this run's undo id, or this run's holder). Any other 409 and every
    other error go to the caller."""
    last: Exception | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return create()
        except ApiException as exc:
            if exc.status == 409:
                found = read()
                if ours(found):
                    logger.info("%s: already there and ours (an earlier attempt was applied)", what)
                    return found
                raise
            if exc.status not in AMBIGUOUS_STATUSES:
                raise
            last = exc
        except ProtocolError as exc:  # sent, then the connection broke: maybe applied
            last = exc
        if attempt == ATTEMPTS:
            raise last
        count(f"create-{getattr(last, 'status', type(last).__name__)}")
        logger.info("%s: %s; creating again (attempt %d), a 409 then reads the object", what, last, attempt + 1)
        time.sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2))
    raise AssertionError("unreachable: the last attempt returns or raises")


def delete_or_gone(delete: Callable[[], Any], what: str) -> None:
    """Delete an object whose delete may have been applied though its answer was lost: delete again; a 404 then
    means it is gone (the earlier attempt did it). Other errors go to the caller."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            delete()
            return
        except ApiException as exc:
            if exc.status == 404 and attempt > 1:
                return
            if exc.status not in AMBIGUOUS_STATUSES or attempt == ATTEMPTS:
                raise
            count(f"delete-{exc.status}")
        logger.info("%s: answered ambiguously; deleting again (attempt %d), a 404 then means gone", what,
                    attempt + 1)
        time.sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2))


def install(api: Any) -> Any:
    """Make ``api`` (a ``kubernetes.client.ApiClient``) retry as the module says; returns it."""
    if not isinstance(api.rest_client, RetryingRESTClient):
        api.rest_client = RetryingRESTClient(api.rest_client)
    return api
