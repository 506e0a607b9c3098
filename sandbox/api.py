"""The HTTP face of the sandbox: Kubernetes API paths, content negotiation, watch streams, Status errors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from . import api_faults, bootstrap_policy, discovery, protobuf, reviews, tables, tokens
from .access import Access, user_of
from .audit import AuditLog
from .cluster import Cluster, Filter, view
from .errors import ApiError
from .patching import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH
from .registry import ResourceType
from .store import Change, Watcher

log = logging.getLogger("xpchaos.sandbox.api")

PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, APPLY_PATCH)
# built-ins whose DELETE answers a Status instead of the deleted object (genericregistry ReturnDeletedObject=false)
_STATUS_ON_DELETE = {("", "secrets"), ("", "configmaps"), ("", "events"), ("events.k8s.io", "events"),
                     ("", "serviceaccounts"), ("networking.k8s.io", "networkpolicies"),
                     ("coordination.k8s.io", "leases"), ("rbac.authorization.k8s.io", "roles"),
                     ("rbac.authorization.k8s.io", "rolebindings"), ("rbac.authorization.k8s.io", "clusterroles"),
                     ("rbac.authorization.k8s.io", "clusterrolebindings")}
_BODY_TYPES = ("application/json", "application/yaml", "", "application/octet-stream", *PATCH_TYPES)
_PUBLIC_PATHS = ("/version", "/version/", "/healthz", "/readyz", "/livez")


@dataclass(frozen=True)
class Target:
    """What a resource path names."""

    rtype: ResourceType
    namespace: str | None  # None: across all namespaces (or cluster-scoped)
    name: str | None
    subresource: str | None


@dataclass
class Settings:
    token: str | None = None
    bookmark_interval: float = 5.0
    default_watch_timeout: float = 1800.0
    max_body_bytes: int = 3 * 1024 * 1024
    audit: AuditLog | None = None  # --audit-log: every accepted request, one JSON line
    faults: api_faults.ApiFaults | None = None  # --api-faults: injected errors, delays and watch faults
    max_token_expiration: int | None = None  # --service-account-max-token-expiration
    token_leeway: float = 60.0  # --service-account-token-leeway


def status_response(err: ApiError) -> web.Response:
    return web.json_response(err.status(), status=err.code)


def build_app(cluster: Cluster, settings: Settings) -> web.Application:
    for rtype in reviews.TYPES:
        cluster.registry.add(rtype)
    bootstrap_policy.install(cluster)
    api = Api(cluster, settings)
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[api.middleware])
    app["api"] = api
    app.on_shutdown.append(api.close_watches)
    app.router.add_get("/version", api.version)
    app.router.add_get("/version/", api.version)  # what client.VersionApi().get_code() asks for
    app.router.add_get("/metrics", api.metrics)
    for probe in ("/healthz", "/readyz", "/livez"):
        app.router.add_get(probe, api.health)
    app.router.add_get("/openapi/v3", api.openapi_index)
    app.router.add_get("/openapi/v3/{path:.*}", api.openapi_document)
    app.router.add_route("*", "/api", api.dispatch)
    app.router.add_route("*", "/api/{tail:.*}", api.dispatch)
    app.router.add_route("*", "/apis", api.dispatch)
    app.router.add_route("*", "/apis/{tail:.*}", api.dispatch)
    return app


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _first_query(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    return value if value not in (None, "") else None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


class Api:
    def __init__(self, cluster: Cluster, settings: Settings) -> None:
        self.cluster = cluster
        self.settings = settings
        self.requests = 0
        self.watch_tasks: set[asyncio.Task[Any]] = set()
        self.tokens = tokens.TokenIssuer(cluster, settings.max_token_expiration, settings.token_leeway)
        self.access = Access(cluster, settings.token, self.tokens)

    async def close_watches(self, _app: web.Application) -> None:
        """On shutdown, end open watch streams (clients re-watch elsewhere), as a stopping API server does."""
        for task in list(self.watch_tasks):
            task.cancel()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        try:
            checked = request.path not in _PUBLIC_PATHS
            user = self.access.authenticate(request) if checked else None
            if self.settings.audit is not None:
                self.settings.audit.record(request)
            if user is not None:
                self.access.authorize(request, user)
            if self.settings.faults is not None:
                return await self.settings.faults.handle(request, handler)
            return await handler(request)
        except ApiError as err:
            return status_response(err)
        except web.HTTPRequestEntityTooLarge:
            return status_response(ApiError(413, "Request entity too large: limit is "
                                                 f"{self.settings.max_body_bytes} bytes"))
        except web.HTTPException as exc:
            return status_response(ApiError(exc.status, exc.reason))
        except Exception:  # the client gets a Status, the log gets the traceback
            log.exception("internal error on %s %s", request.method, request.path)
            return status_response(ApiError(500, "Internal error occurred: see the sandbox log"))

    # non-resource endpoints ---------------------------------------------------------------------------
    async def version(self, request: web.Request) -> web.Response:
        return web.json_response(discovery.VERSION_INFO)

    async def metrics(self, request: web.Request) -> web.Response:
        """A few of the real API server's metrics, in Prometheus text format."""
        store = self.cluster.store
        lines = [
            "# TYPE apiserver_registered_watchers gauge",
            f"apiserver_registered_watchers {store.watcher_count}",
            "# TYPE apiserver_request_total counter",
            f"apiserver_request_total {self.requests}",
            "# TYPE etcd_object_counts gauge",
            f"etcd_object_counts {sum(store.count(key) for key in store.storage_keys())}",
        ]
        if self.settings.faults is not None:
            lines += self.settings.faults.metric_lines()
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def openapi_index(self, request: web.Request) -> web.Response:
        return web.json_response(discovery.openapi_v3_index(self.cluster.registry))

    async def openapi_document(self, request: web.Request) -> web.Response:
        parts = request.match_info["path"].strip("/").split("/")
        if parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.openapi_v3_document(self.cluster.registry, "", parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.openapi_v3_document(self.cluster.registry, parts[1], parts[2])
        else:
            doc = None
        if doc is None:
            raise ApiError(404, "the server could not find the requested resource")
        return web.json_response(doc)

    # resource paths -----------------------------------------------------------------------------------
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if parts[0] == "api":
            if len(parts) == 1:
                return web.json_response(discovery.core_versions())
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 1:
                return web.json_response(discovery.group_list(self.cluster.registry))
            if len(parts) == 2:
                return self._discovery(discovery.group(self.cluster.registry, parts[1]))
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            return self._discovery(discovery.resource_list(self.cluster.registry, group, version))
        target = self._resolve(group, version, rest)
        return await self._serve(request, target)

    def _discovery(self, doc: dict[str, Any] | None) -> web.Response:
        if doc is None:
            raise ApiError(404, "the server could not find the requested resource")
        return web.json_response(doc)

    def _resolve(self, group: str, version: str, rest: list[str]) -> Target:
        registry = self.cluster.registry
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = registry.get(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        rtype = registry.get(group, version, rest[0])
        if rtype is None:
            gv = f"{group}/{version}" if group else version
            wanted = rest[2] if rest[0] == "namespaces" and len(rest) >= 3 and group else rest[0]
            raise ApiError(404, f"the server could not find the requested resource ({wanted} in {gv})")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        token = sub == "token" and rtype.storage_key == ("", "serviceaccounts")  # TokenRequest
        if sub is not None and not (sub == "status" and rtype.has_status) and not token:
            raise ApiError(404, f"the server could not find the requested resource ({rtype.plural}/{sub})")
        return Target(rtype, namespace, name, sub)

    async def _serve(self, request: web.Request, target: Target) -> web.StreamResponse:
        if _first_query(request, "dryRun"):
            raise ApiError(400, "dryRun is not supported by the sandbox; nothing was changed")
        method = request.method
        if not target.rtype.stored:  # review kinds: create on the collection, nothing else (405, as real)
            if method != "POST" or target.name is not None:
                raise ApiError(405, "the server does not allow this method on the requested resource")
            body = await self._body(request, target.rtype)
            answer = reviews.answer(target.rtype, body, user_of(request), self.access.authorizer)
            return web.json_response(answer, status=201)
        if target.subresource == "token":
            return await self._token(request, target)
        if target.name is None:
            if method == "GET":
                if _truthy(_first_query(request, "watch")):
                    return await self._watch(request, target)
                return self._list(request, target)
            if method == "POST":
                return self._create(target, await self._body(request, target.rtype))
            if method == "DELETE":
                return self._delete_collection(request, target)
            raise ApiError(405, f"the server does not allow this method on the requested resource ({method})")
        namespace = target.namespace or ""
        if target.rtype.namespaced and target.namespace is None:
            raise ApiError(404, "the server could not find the requested resource (a namespace is required)")
        if method == "GET":
            return self._object_response(request, target.rtype, self.cluster.get(target.rtype, namespace,
                                                                                  target.name))
        if method == "PUT":
            obj = self.cluster.update(target.rtype, namespace, target.name, await self._body(request, target.rtype),
                                      target.subresource)
            return web.json_response(obj)
        if method == "PATCH":
            content_type = request.content_type
            if content_type not in PATCH_TYPES:
                raise ApiError(415, f"the body of the request was in an unknown format ({content_type})")
            obj = self.cluster.patch(target.rtype, namespace, target.name, content_type,
                                     await self._body(request, target.rtype), target.subresource)
            return web.json_response(obj)
        if method == "DELETE":
            return await self._delete(request, target, namespace)
        raise ApiError(405, f"the server does not allow this method on the requested resource ({method})")

    async def _token(self, request: web.Request, target: Target) -> web.Response:
        """TokenRequest: create only (405 otherwise); a shortened expiration comes with a Warning header."""
        if target.namespace is None or target.name is None:
            raise ApiError(404, "the server could not find the requested resource")
        if request.method != "POST":
            raise ApiError(405, "the server does not allow this method on the requested resource")
        answer, warnings = self.tokens.create(target.namespace, target.name,
                                              await self._body(request, tokens.TOKEN_REQUEST))
        response = web.json_response(answer, status=201)
        for warning in warnings:
            response.headers.add("Warning", f'299 - "{warning}"')
        return response

    async def _body(self, request: web.Request, rtype: ResourceType | None = None) -> Any:
        if request.content_type == protobuf.PROTOBUF:
            return protobuf.decode(await request.read(), rtype.qualified() if rtype else "")
        if request.content_type not in _BODY_TYPES:
            # clients such as kubectl fall back to JSON on 415, as with a server that lacks protobuf
            raise ApiError(415, f"the body of the request was in an unknown format ({request.content_type}) - "
                                "accepted media types include: application/json, application/yaml")
        raw = await request.read()
        if not raw:
            raise ApiError(400, "the request body is empty")
        try:
            if request.content_type in ("application/yaml", APPLY_PATCH):
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ApiError(400, f"the request body is not valid {request.content_type}: {first_line}") from None

    def _object_response(self, request: web.Request, rtype: ResourceType, obj: dict[str, Any]) -> web.Response:
        if _wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return web.json_response(tables.table(rtype, [obj], obj["metadata"]["resourceVersion"], include))
        return web.json_response(obj)

    # list ---------------------------------------------------------------------------------------------
    def _filter(self, request: web.Request, target: Target) -> Filter:
        return self.cluster.make_filter(target.rtype, target.namespace, request.query.get("labelSelector"),
                                        request.query.get("fieldSelector"))

    def _list(self, request: web.Request, target: Target) -> web.Response:
        items, rv = self.cluster.list_objects(target.rtype, target.namespace, self._filter(request, target))
        items, cont = _paginate(items, request.query.get("limit"), request.query.get("continue"), rv)
        if _wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return web.json_response(tables.table(target.rtype, items, rv, include, cont=cont))
        meta: dict[str, Any] = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        rtype = target.rtype
        return web.json_response({"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version, "metadata": meta,
                                  "items": items})

    # create / delete ------------------------------------------------------------------------------------
    def _create(self, target: Target, body: Any) -> web.Response:
        if target.rtype.namespaced and target.namespace is None:
            raise ApiError(404, "the server could not find the requested resource (a namespace is required)")
        obj = self.cluster.create(target.rtype, target.namespace or "", body)
        return web.json_response(obj, status=201)

    async def _delete(self, request: web.Request, target: Target, namespace: str) -> web.Response:
        options: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    options = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "the DeleteOptions body is not valid JSON") from None
        assert target.name is not None
        obj, gone = self.cluster.delete(target.rtype, namespace, target.name, options.get("preconditions"))
        rtype = target.rtype
        if gone and (rtype.group, rtype.plural) in _STATUS_ON_DELETE:
            return web.json_response({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {k: v for k, v in (("name", target.name), ("group", rtype.group), ("kind", rtype.plural),
                                              ("uid", obj["metadata"]["uid"])) if v},
            })
        return web.json_response(obj)

    def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        deleted = self.cluster.delete_collection(target.rtype, target.namespace, self._filter(request, target))
        rtype = target.rtype
        return web.json_response({"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version,
                                  "metadata": {"resourceVersion": str(self.cluster.store.rv)}, "items": deleted})

    # watch ----------------------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        stream = WatchStream(self, request, target)
        task = asyncio.current_task()
        assert task is not None
        self.watch_tasks.add(task)
        try:
            return await stream.run()
        finally:
            self.watch_tasks.discard(task)


class WatchStream:
    """One watch request: initial events, backlog, live changes, bookmarks, timeout."""

    def __init__(self, api: Api, request: web.Request, target: Target) -> None:
        self.api = api
        self.request = request
        self.target = target
        self.accepts = api._filter(request, target)
        self.table = _wants_table(request)
        self.table_headers_sent = False
        self.include = request.query.get("includeObject", "Metadata")
        self.bookmarks = _truthy(request.query.get("allowWatchBookmarks"))
        timeout = request.query.get("timeoutSeconds")
        self.deadline = time.monotonic() + (float(timeout) if timeout else api.settings.default_watch_timeout)
        self.fault = api_faults.watch_fault() if api.settings.faults is not None else None

    def _start(self) -> tuple[Watcher | None, list[tuple[str, dict[str, Any]]]]:
        """Subscribe and collect the first events, without yielding to the loop in between."""
        cluster, query = self.api.cluster, self.request.query
        rv_text = query.get("resourceVersion") or ""
        initial = _truthy(query.get("sendInitialEvents")) or rv_text in ("", "0")
        try:
            since = int(rv_text) if rv_text not in ("", "0") else None
        except ValueError:
            raise ApiError(400, f"invalid resourceVersion {rv_text!r}") from None
        first: list[tuple[str, dict[str, Any]]] = []
        if initial:
            items, rv = cluster.list_objects(self.target.rtype, self.target.namespace, self.accepts)
            first = [("ADDED", o) for o in items]
            if _truthy(query.get("sendInitialEvents")):
                first.append(("BOOKMARK", self._bookmark(rv, initial_end=True)))
            since = None
        try:
            if self.fault is not None and self.fault.name == "gone":
                raise self.fault.expired(rv_text, cluster.store.rv)
            watcher, backlog = cluster.watch(self.target.rtype, self.accepts, since)
        except ApiError as err:
            if err.code == 410:
                return None, [("ERROR", err.status())]
            raise
        return watcher, first + [e for c in backlog for e in self._translate(c)]

    def _bookmark(self, rv: str, initial_end: bool = False) -> dict[str, Any]:
        meta: dict[str, Any] = {"resourceVersion": rv}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        rtype = self.target.rtype
        return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta}

    def _translate(self, change: Change) -> list[tuple[str, dict[str, Any]]]:
        """Selection changes turn MODIFIED into ADDED or DELETED, as the watch cache does."""
        new_ok = self.accepts(change.obj)
        old_ok = change.old is not None and self.accepts(change.old)
        obj = view(self.target.rtype, change.obj)
        if change.type == "DELETED":
            return [("DELETED", obj)] if old_ok else []
        if change.type == "ADDED" or not old_ok:
            return [("ADDED", obj)] if new_ok else []
        return [("MODIFIED", obj)] if new_ok else [("DELETED", obj)]

    def _encode(self, events: list[tuple[str, dict[str, Any]]]) -> bytes:
        lines = []
        for etype, obj in events:
            if self.table and etype in ("ADDED", "MODIFIED", "DELETED"):
                obj = tables.table(self.target.rtype, [obj], obj["metadata"]["resourceVersion"], self.include,
                                   headers=not self.table_headers_sent)
                self.table_headers_sent = True
            lines.append(json.dumps({"type": etype, "object": obj}, separators=(",", ":")))
        return ("\n".join(lines) + "\n").encode() if lines else b""

    async def run(self) -> web.StreamResponse:
        watcher, first = self._start()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(self.request)
            await response.write(self._encode(first) or b"")
            if watcher is not None:
                pump = self._pump(watcher, response)
                await (pump if self.fault is None else self.fault.cut(pump))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if watcher is not None:
                self.api.cluster.store.unsubscribe(watcher)
        return response

    async def _pump(self, watcher: Watcher, response: web.StreamResponse) -> None:
        interval = self.api.settings.bookmark_interval
        next_bookmark = time.monotonic() + interval
        while not (watcher.overflowed and watcher.queue.empty()):
            now = time.monotonic()
            if now >= self.deadline:
                return
            wait = min(self.deadline, next_bookmark if self.bookmarks else self.deadline) - now
            try:
                async with asyncio.timeout(max(wait, 0.001)):  # not wait_for: it can swallow a cancel in 3.11
                    change = await watcher.queue.get()
            except TimeoutError:
                if self.bookmarks and time.monotonic() >= next_bookmark:
                    await response.write(self._encode([("BOOKMARK", self._bookmark(str(self.api.cluster.store.rv)))]))
                    next_bookmark = time.monotonic() + interval
                continue
            events = self._translate(change)
            while not watcher.queue.empty():  # write what has piled up in one chunk
                events.extend(self._translate(watcher.queue.get_nowait()))
            if events:
                await response.write(self._encode(events))


def _paginate(items: list[dict[str, Any]], limit_text: str | None, cont: str | None,
              rv: str) -> tuple[list[dict[str, Any]], str | None]:
    """limit/continue over the (namespace, name)-sorted list; the token carries the last key returned."""
    start = 0
    if cont:
        try:
            last = json.loads(base64.urlsafe_b64decode(cont.encode()))
            key = (last["ns"], last["name"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "continue key is not valid") from None
        start = next((i for i, o in enumerate(items)
                      if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > key), len(items))
    try:
        limit = int(limit_text) if limit_text else 0
    except ValueError:
        raise ApiError(400, f"invalid limit {limit_text!r}") from None
    if limit <= 0 or start + limit >= len(items):
        return items[start:], None
    page = items[start:start + limit]
    last_meta = page[-1]["metadata"]
    token = json.dumps({"ns": last_meta.get("namespace", ""), "name": last_meta["name"], "rv": rv})
    return page, base64.urlsafe_b64encode(token.encode()).decode()
