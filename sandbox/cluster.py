"""The API's verbs on stored objects: what get, list, create, update, patch and delete mean.

The HTTP layer (``api.py``) parses requests and renders responses; everything a real API server decides
about an object (namespaces, finalizers, CRDs taking effect, events' two API versions) happens here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import crds, eventsv1, lifecycle, schema
from .errors import ApiError, already_exists, invalid, not_found
from .patching import APPLY_PATCH, apply_patch
from .registry import Registry, ResourceType
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import Change, StorageKey, Store, Watcher

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CRD_KEY: StorageKey = ("apiextensions.k8s.io", "customresourcedefinitions")
NS_KEY: StorageKey = ("", "namespaces")


def storage_key(rtype: ResourceType) -> StorageKey:
    if eventsv1.is_new_events(rtype.group, rtype.plural):
        return ("", "events")
    return rtype.storage_key


def view(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The stored object as served in ``rtype``'s API version (no copy when nothing changes)."""
    if eventsv1.is_new_events(rtype.group, rtype.plural):
        return eventsv1.to_events_v1(obj)
    if obj.get("apiVersion") != rtype.api_version:
        obj = {**obj, "apiVersion": rtype.api_version}
    return obj


def to_storage(rtype: ResourceType, body: Any) -> Any:
    if eventsv1.is_new_events(rtype.group, rtype.plural) and isinstance(body, dict):
        return eventsv1.from_events_v1(body)
    return body


def normalized(rtype: ResourceType, body: Any) -> Any:
    """A custom resource's request body defaulted and pruned by its version's schema, as the server decodes it."""
    if rtype.custom and rtype.schema is not None and isinstance(body, dict):
        return schema.normalize(rtype.schema, body)
    return body


def storage_type(rtype: ResourceType, registry: Registry) -> ResourceType:
    """The type objects are validated and stored as (core/v1 for both Event APIs)."""
    if eventsv1.is_new_events(rtype.group, rtype.plural):
        core = registry.get("", "v1", "events")
        assert core is not None
        return core
    return rtype


Filter = Callable[[dict[str, Any]], bool]


class Cluster:
    def __init__(self, history_size: int = 10_000) -> None:
        self.store = Store(history_size)
        self.registry = Registry.with_builtins()
        ns_type = self.registry.get("", "v1", "namespaces")
        assert ns_type is not None
        for name in INITIAL_NAMESPACES:
            self.store.put(NS_KEY, lifecycle.prepare_create(ns_type, "", {"metadata": {"name": name}}))

    # reading -------------------------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(storage_key(rtype), namespace if rtype.namespaced else "", name)
        if obj is None:
            raise not_found(rtype.plural, name, rtype.group)
        return view(rtype, obj)

    def make_filter(self, rtype: ResourceType, namespace: str | None, labels: str | None,
                    fields: str | None) -> Filter:
        label_reqs = parse_label_selector(labels)
        field_reqs = parse_field_selector(fields, rtype.selectable_fields)

        def accepts(obj: dict[str, Any]) -> bool:
            if namespace is not None and obj["metadata"].get("namespace", "") != namespace:
                return False
            if label_reqs and not labels_match(label_reqs, obj):
                return False
            return not field_reqs or fields_match(field_reqs, view(rtype, obj))

        return accepts

    def list_objects(self, rtype: ResourceType, namespace: str | None,
                     accepts: Filter) -> tuple[list[dict[str, Any]], str]:
        items = [view(rtype, o) for o in self.store.items(storage_key(rtype), namespace) if accepts(o)]
        return items, str(self.store.rv)

    # writing -------------------------------------------------------------------------------------------
    def _check_namespace(self, rtype: ResourceType, namespace: str) -> None:
        if not rtype.namespaced:
            return
        ns = self.store.get(NS_KEY, "", namespace)
        if ns is None:
            raise not_found("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(403, f"{rtype.plural} is forbidden: unable to create new content in namespace "
                                f"{namespace} because it is being terminated", reason="Forbidden")

    def create(self, rtype: ResourceType, namespace: str, body: Any) -> dict[str, Any]:
        stype = storage_type(rtype, self.registry)
        self._check_namespace(rtype, namespace)
        obj = lifecycle.prepare_create(stype, namespace, normalized(rtype, to_storage(rtype, body)))
        self._check_schema(rtype, obj, None, None)
        if self.store.get(storage_key(rtype), obj["metadata"].get("namespace", ""), obj["metadata"]["name"]):
            raise already_exists(rtype.plural, obj["metadata"]["name"], rtype.group)
        if rtype.storage_key == CRD_KEY:
            self._admit_crd(obj, None)
        return view(rtype, self.store.put(storage_key(rtype), obj))

    def update(self, rtype: ResourceType, namespace: str, name: str, body: Any,
               subresource: str | None = None) -> dict[str, Any]:
        old = self._stored(rtype, namespace, name)
        new = lifecycle.prepare_update(storage_type(rtype, self.registry), old,
                                       normalized(rtype, to_storage(rtype, body)), subresource, require_rv=rtype.custom)
        self._check_schema(rtype, new, old, subresource)
        return view(rtype, self._commit_update(rtype, old, new))

    def patch(self, rtype: ResourceType, namespace: str, name: str, content_type: str, patch: Any,
              subresource: str | None = None) -> dict[str, Any]:
        key = storage_key(rtype)
        old = self.store.get(key, namespace if rtype.namespaced else "", name)
        if old is None:
            if content_type == APPLY_PATCH:  # server-side apply creates what does not exist
                return self.create(rtype, namespace, patch)
            raise not_found(rtype.plural, name, rtype.group)
        current = view(rtype, copy.deepcopy(old))
        patched = apply_patch(content_type, current, patch, rtype.custom)
        if isinstance(patched, dict):
            patched.setdefault("metadata", {})
            # a patch that carries a resourceVersion is a precondition; otherwise it applies to the current one
            patched["metadata"].setdefault("resourceVersion", old["metadata"]["resourceVersion"])
        new = lifecycle.prepare_update(storage_type(rtype, self.registry), old,
                                       normalized(rtype, to_storage(rtype, patched)), subresource, require_rv=False)
        self._check_schema(rtype, new, old, subresource)
        return view(rtype, self._commit_update(rtype, old, new))

    def _check_schema(self, rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None,
                      subresource: str | None) -> None:
        """422 when a custom resource breaks its schema: the status stanza on /status, else the rest of it (the
        whole object without a status subresource). Causes the stored object already had are let through, a rough
        form of the real server's validation ratcheting."""
        if not rtype.custom or rtype.schema is None:
            return

        def causes_of(target: dict[str, Any]) -> list[tuple[str, str]]:
            if subresource == "status":
                return schema.validate_status(rtype.schema, target)
            return schema.validate_resource(rtype.schema, target, status_apart=rtype.has_status)

        causes = causes_of(obj)
        if causes and old is not None:
            known = set(causes_of(old))
            causes = [c for c in causes if c not in known]
        if causes:
            raise invalid(rtype.kind, obj["metadata"]["name"], causes, rtype.group)

    def _stored(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(storage_key(rtype), namespace if rtype.namespaced else "", name)
        if obj is None:
            raise not_found(rtype.plural, name, rtype.group)
        return obj

    def _commit_update(self, rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        if rtype.storage_key == CRD_KEY:
            self._admit_crd(new, old)
        if new == old | {"metadata": new["metadata"]} and _same_meta(old, new):
            return old  # a no-op update keeps its resourceVersion, as the real server does
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(rtype, new)
        return self.store.put(storage_key(rtype), new)

    def delete(self, rtype: ResourceType, namespace: str, name: str,
               preconditions: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
        """Delete or start deleting; returns (object, gone)."""
        obj = self._stored(rtype, namespace, name)
        preconditions = preconditions or {}
        if preconditions.get("uid") and preconditions["uid"] != obj["metadata"]["uid"]:
            raise ApiError(409, f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object "
                                f"meta: {obj['metadata']['uid']}")
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != obj["metadata"][
                "resourceVersion"]:
            raise ApiError(409, "Precondition failed: ResourceVersion in precondition does not match")
        if rtype.storage_key == NS_KEY:
            return view(rtype, self._delete_namespace(obj)), False
        if obj["metadata"].get("finalizers"):
            if obj["metadata"].get("deletionTimestamp"):
                return view(rtype, obj), False
            return view(rtype, self.store.put(storage_key(rtype), lifecycle.mark_deleting(obj))), False
        return view(rtype, self._remove(rtype, obj)), True

    def delete_collection(self, rtype: ResourceType, namespace: str | None, accepts: Filter) -> list[dict[str, Any]]:
        items, _ = self.list_objects(rtype, namespace, accepts)
        return [self.delete(rtype, o["metadata"].get("namespace", ""), o["metadata"]["name"])[0] for o in items]

    def _remove(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        final = self.store.remove(storage_key(rtype), obj)
        if rtype.storage_key == CRD_KEY:
            spec = obj["spec"]
            self.store.drop_storage((spec["group"], spec["names"]["plural"]))
            self.registry.remove_group_resource(spec["group"], spec["names"]["plural"])
        namespace = obj["metadata"].get("namespace")
        if namespace:
            self._finish_namespace(namespace)
        return final

    # namespaces and CRDs -------------------------------------------------------------------------------
    def _delete_namespace(self, ns: dict[str, Any]) -> dict[str, Any]:
        name = ns["metadata"]["name"]
        if not ns["metadata"].get("deletionTimestamp"):
            ns = lifecycle.mark_deleting(ns)
            ns["status"] = {"phase": "Terminating"}
            ns = self.store.put(NS_KEY, ns)
        for key in self.store.storage_keys():
            rtype = self._any_type(key)
            if rtype is None or not rtype.namespaced:
                continue
            for obj in list(self.store.items(key, name)):
                self.delete(rtype, name, obj["metadata"]["name"])
        return self._finish_namespace(name) or ns

    def _finish_namespace(self, name: str) -> dict[str, Any] | None:
        """Remove a terminating namespace once nothing is left in it."""
        ns = self.store.get(NS_KEY, "", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        if any(self.store.count(key, name) for key in self.store.storage_keys() if key != NS_KEY):
            return None
        return self.store.remove(NS_KEY, ns)

    def _any_type(self, key: StorageKey) -> ResourceType | None:
        types = self.registry.kinds_for(*key)
        return types[0] if types else None

    def _admit_crd(self, crd: dict[str, Any], old: dict[str, Any] | None) -> None:
        crds.check_crd(crd)
        if old is not None and old["spec"].get("group") != crd["spec"]["group"]:
            raise ApiError(422, "spec.group: Invalid value: field is immutable")
        if crd["metadata"].get("deletionTimestamp"):
            return
        crd["status"] = crds.accepted_status(crd)
        self.registry.remove_group_resource(crd["spec"]["group"], crd["spec"]["names"]["plural"])
        for rtype in crds.resource_types(crd):
            self.registry.add(rtype)

    # watching ------------------------------------------------------------------------------------------
    def watch(self, rtype: ResourceType, accepts: Filter, since_rv: int | None) -> tuple[Watcher, list[Change]]:
        watcher = Watcher(storage_key(rtype), accepts)
        return watcher, self.store.subscribe(watcher, since_rv)


def _same_meta(old: dict[str, Any], new: dict[str, Any]) -> bool:
    ignore = {"resourceVersion", "managedFields"}
    return ({k: v for k, v in old["metadata"].items() if k not in ignore}
            == {k: v for k, v in new["metadata"].items() if k not in ignore})
