"""The RBAC authorizer: who may do what, decided from the Role, ClusterRole, RoleBinding and ClusterRoleBinding
objects in the sandbox, as kube-apiserver's ``--authorization-mode=RBAC`` decides it.

The request's attributes (verb, API group, resource, subresource, namespace, name; or a non-resource path) come
from the path and query as the real RequestInfo derives them (``audit.attributes``). A request is allowed when one
rule of one binding that names the user (User, Group, or ServiceAccount subject) matches it; RoleBindings count
only in their own namespace, ClusterRoleBindings everywhere, and non-resource URLs only through ClusterRoleBindings.
Members of ``system:masters`` are allowed everything before RBAC is asked, as kube-apiserver's privileged-group
authorizer does. Denials are 403 Statuses worded exactly as kube-apiserver's (responsewriters.Forbidden).
ClusterRole aggregation (``aggregationRule``) is not evaluated: an aggregated ClusterRole grants the rules it
stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import audit
from .errors import ApiError
from .store import Store

RBAC_GROUP = "rbac.authorization.k8s.io"
PRIVILEGED_GROUP = "system:masters"
AUTHENTICATED = "system:authenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
_ROLES, _CLUSTER_ROLES = (RBAC_GROUP, "roles"), (RBAC_GROUP, "clusterroles")
_BINDINGS, _CLUSTER_BINDINGS = (RBAC_GROUP, "rolebindings"), (RBAC_GROUP, "clusterrolebindings")


@dataclass(frozen=True)
class User:
    """An authenticated identity (user.Info): name, groups, uid and extra values."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def info(self) -> dict[str, Any]:
        """As the authentication API writes it (``userInfo`` of a SelfSubjectReview)."""
        doc: dict[str, Any] = {"username": self.name}
        if self.uid:
            doc["uid"] = self.uid
        doc["groups"] = list(self.groups)
        if self.extra:
            doc["extra"] = {key: list(values) for key, values in self.extra}
        return doc


ADMIN = User("kubernetes-admin", (PRIVILEGED_GROUP, AUTHENTICATED))


def service_account_user(namespace: str, name: str, uid: str = "",
                         extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> User:
    """The identity of a ServiceAccount's token, with the groups every ServiceAccount has."""
    return User(f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED), uid, extra)


@dataclass(frozen=True)
class Attributes:
    """What a request asks (authorizer.Attributes): a resource request, or a non-resource ``path``."""

    verb: str
    resource_request: bool = True
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @classmethod
    def of_request(cls, method: str, path: str, query: Any) -> Attributes:
        record = audit.attributes(method, path, query, None)
        if "nonResourceURL" in record:
            return cls(record["verb"], resource_request=False, path=path)
        return cls(record["verb"], api_group=record["apiGroup"], resource=record["resource"],
                   subresource=record["subresource"] or "", namespace=record["namespace"] or "",
                   name=record["name"] or "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class _Grant:
    """The rules one binding gives the user, or the error met resolving its role."""

    source: str
    rules: tuple[dict[str, Any], ...] = ()
    error: str = ""


class Authorizer:
    """Reads the RBAC objects from the store at each decision, so a change applies to the next request."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def authorize(self, user: User, attrs: Attributes) -> Decision:
        if PRIVILEGED_GROUP in user.groups:
            return Decision(True)
        errors: list[str] = []
        for grant in self._grants(user, attrs.namespace):
            if grant.error:
                errors.append(grant.error)
            elif any(rule_allows(attrs, rule) for rule in grant.rules):
                return Decision(True, f"RBAC: allowed by {grant.source}")
        return Decision(False, f"RBAC: {aggregate(errors)}" if errors else "")

    def rules_for(self, user: User, namespace: str) -> tuple[list[dict[str, Any]], str]:
        """Every rule that applies to ``user`` in ``namespace``, and the errors met finding them."""
        rules: list[dict[str, Any]] = []
        errors: list[str] = []
        for grant in self._grants(user, namespace):
            rules.extend(grant.rules)
            if grant.error:
                errors.append(grant.error)
        return rules, aggregate(errors)

    def _grants(self, user: User, namespace: str) -> Iterator[_Grant]:
        """ClusterRoleBindings first, then the RoleBindings of ``namespace`` (VisitRulesFor's order)."""
        for binding in self.store.items(_CLUSTER_BINDINGS):
            subject = _subject_for(user, binding.get("subjects"), "")
            if subject is not None:
                yield self._grant(binding, subject, "")
        if namespace:
            for binding in self.store.items(_BINDINGS, namespace):
                subject = _subject_for(user, binding.get("subjects"), namespace)
                if subject is not None:
                    yield self._grant(binding, subject, namespace)

    def _grant(self, binding: dict[str, Any], subject: dict[str, Any], namespace: str) -> _Grant:
        ref = binding.get("roleRef")
        ref = ref if isinstance(ref, dict) else {}
        kind, role_name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if kind == "Role":
            role = self.store.get(_ROLES, namespace, role_name) if namespace else None
        elif kind == "ClusterRole":
            role = self.store.get(_CLUSTER_ROLES, "", role_name)
        else:
            return _Grant("", error=f"unsupported role reference kind: {go_quote(kind)}")
        if role is None:
            return _Grant("", error=f"{kind.lower()}.{RBAC_GROUP} {go_quote(role_name)} not found")
        name = binding["metadata"]["name"]
        described = (f"RoleBinding {go_quote(name + '/' + namespace)}" if namespace
                     else f"ClusterRoleBinding {go_quote(name)}")
        source = f"{described} of {kind} {go_quote(role_name)} to {_describe(subject, namespace)}"
        rules = tuple(r for r in role.get("rules") or () if isinstance(r, dict))
        return _Grant(source, rules)


def _subject_for(user: User, subjects: Any, namespace: str) -> dict[str, Any] | None:
    """The first subject of a binding that names ``user`` (appliesTo)."""
    for subject in subjects if isinstance(subjects, list) else ():
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user.name:
            return subject
        if kind == "Group" and name in user.groups:
            return subject
        if kind == "ServiceAccount":
            # a RoleBinding's subject without a namespace means the binding's own namespace
            sa_namespace = subject.get("namespace") or namespace
            if sa_namespace and user.name == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}":
                return subject
    return None


def _describe(subject: dict[str, Any], namespace: str) -> str:
    kind, name = str(subject.get("kind")), str(subject.get("name"))
    if kind == "ServiceAccount":
        return f"{kind} {go_quote(name + '/' + (subject.get('namespace') or namespace))}"
    return f"{kind} {go_quote(name)}"


def _strings(rule: dict[str, Any], field: str) -> list[str]:
    values = rule.get(field)
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def rule_allows(attrs: Attributes, rule: dict[str, Any]) -> bool:
    """RuleAllows: verbs, then API groups, resources (``*``, ``res/sub``, ``*/sub``) and names, or the path."""
    verbs = _strings(rule, "verbs")
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url.rstrip("*")))
                   for url in _strings(rule, "nonResourceURLs"))
    groups = _strings(rule, "apiGroups")
    if "*" not in groups and attrs.api_group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = _strings(rule, "resources")
    if not ("*" in resources or combined in resources
            or (attrs.subresource and f"*/{attrs.subresource}" in resources)):
        return False
    names = _strings(rule, "resourceNames")
    return not names or attrs.name in names


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message as is, several de-duplicated as ``[a, b]``."""
    unique = list(dict.fromkeys(errors))
    if len(unique) <= 1:
        return unique[0] if unique else ""
    return "[" + ", ".join(unique) + "]"


def go_quote(text: str) -> str:
    """Go's %q for the strings RBAC messages quote (escapes quotes, backslashes and control characters)."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                        "\v": "\\v"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})  # responsewriters' sanitizer


def forbidden(user: User, attrs: Attributes, reason: str = "") -> ApiError:
    """403 with kube-apiserver's Status: ``secrets "x" is forbidden: User "u" cannot patch resource ...``."""
    if not attrs.resource_request:
        said = f"User {go_quote(user.name)} cannot {attrs.verb} path {go_quote(attrs.path)}"
    else:
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        where = (f"in the namespace {go_quote(attrs.namespace)}" if attrs.namespace else "at the cluster scope")
        said = (f"User {go_quote(user.name)} cannot {attrs.verb} resource {go_quote(resource)} in API group "
                f"{go_quote(attrs.api_group)} {where}")
    said = said.translate(_HTML)
    if reason:
        said = f"{said}: {reason}"
    group, resource = (attrs.api_group, attrs.resource) if attrs.resource_request else ("", "")
    qualified = f"{resource}.{group}" if group else resource
    if not qualified:
        message = f"forbidden: {said}"
    elif not attrs.name:
        message = f"{qualified} is forbidden: {said}"
    else:
        message = f"{qualified} {go_quote(attrs.name)} is forbidden: {said}"
    return ApiError(403, message, details={"name": attrs.name, "group": group, "kind": resource})
