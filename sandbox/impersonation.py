"""Impersonation (``Impersonate-User``, ``Impersonate-Group``, ``Impersonate-Uid``, ``Impersonate-Extra-*``
headers, what ``kubectl --as``/``--as-group`` send): the requester becomes the impersonated identity when RBAC
lets it ``impersonate`` each part, as kube-apiserver's impersonation filter decides.

A user name ``system:serviceaccount:NS:NAME`` is checked as ``impersonate serviceaccounts NAME`` in NS and, unless
groups are given, gets the ServiceAccount's groups; every impersonated identity but ``system:anonymous`` also gets
``system:authenticated``. The ServiceAccount need not exist (nor does it on a real cluster).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from multidict import CIMultiDictProxy

from .errors import ApiError
from .rbac import AUTHENTICATED, SERVICE_ACCOUNT_PREFIX, Attributes, Authorizer, User, forbidden

USER, GROUP, UID, EXTRA_PREFIX = "Impersonate-User", "Impersonate-Group", "Impersonate-Uid", "Impersonate-Extra-"
ANONYMOUS, UNAUTHENTICATED = "system:anonymous", "system:unauthenticated"
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass
class _Wanted:
    """The identity the headers ask for, and the ``impersonate`` checks it needs."""

    checks: list[Attributes] = field(default_factory=list)
    name: str = ""
    groups: list[str] = field(default_factory=list)
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)


def requested(headers: CIMultiDictProxy[str]) -> bool:
    return any(key.lower() in ("impersonate-user", "impersonate-group", "impersonate-uid")
               or key.lower().startswith("impersonate-extra-") for key in headers)


def impersonate(headers: CIMultiDictProxy[str], path: str, requester: User, authorizer: Authorizer) -> User:
    """The identity the request acts as: ``requester`` itself without impersonation headers, else the one the
    headers name (403 for the first part ``requester`` may not impersonate)."""
    if not requested(headers):
        return requester
    wanted = _wanted(headers, path)
    for attrs in wanted.checks:
        decision = authorizer.authorize(requester, attrs)
        if not decision.allowed:
            raise forbidden(requester, attrs, decision.reason)
    groups = list(wanted.groups)
    if wanted.name != ANONYMOUS and not {AUTHENTICATED, UNAUTHENTICATED} & set(groups):
        groups.append(AUTHENTICATED)
    elif wanted.name == ANONYMOUS and UNAUTHENTICATED not in groups:
        groups.append(UNAUTHENTICATED)
    return User(wanted.name, tuple(groups), wanted.uid,
                tuple((key, tuple(values)) for key, values in wanted.extra.items()))


def _wanted(headers: CIMultiDictProxy[str], path: str) -> _Wanted:
    wanted = _Wanted()
    name = headers.get(USER, "")
    group_values = headers.getall(GROUP, [])
    account = _split_service_account(name)
    if account is not None:
        wanted.checks.append(Attributes("impersonate", resource="serviceaccounts", namespace=account[0],
                                        name=account[1]))
        if not group_values:  # a ServiceAccount's groups are known
            wanted.groups = ["system:serviceaccounts", f"system:serviceaccounts:{account[0]}"]
    elif name:
        wanted.checks.append(Attributes("impersonate", resource="users", name=name))
    wanted.name = name
    for group in group_values:
        wanted.checks.append(Attributes("impersonate", resource="groups", name=group))
        wanted.groups.append(group)
    for key, value in headers.items():
        if key.lower().startswith(EXTRA_PREFIX.lower()):
            extra_key = key[len(EXTRA_PREFIX):].lower()
            wanted.checks.append(Attributes("impersonate", api_group="authentication.k8s.io", resource="userextras",
                                            subresource=extra_key, name=value))
            wanted.extra.setdefault(extra_key, []).append(value)
    wanted.uid = headers.get(UID, "")
    if wanted.uid:
        wanted.checks.append(Attributes("impersonate", api_group="authentication.k8s.io", resource="uids",
                                        name=wanted.uid))
    if not name:  # groups, uid or extra alone: the real filter fails the request before any check
        raise ApiError(500, f'Internal Server Error: "{path}": requested groups, uid or user-extra without '
                            "impersonating a user")
    return wanted


def _split_service_account(name: str) -> tuple[str, str] | None:
    """(namespace, name) of ``system:serviceaccount:NS:NAME`` with a valid namespace and name, else None."""
    if not name.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = name[len(SERVICE_ACCOUNT_PREFIX):].split(":")
    if len(parts) != 2:
        return None
    namespace, account = parts
    if len(namespace) > 63 or not _LABEL.match(namespace) or len(account) > 253 or not _SUBDOMAIN.match(account):
        return None
    return namespace, account
