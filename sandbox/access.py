"""Who a request is and whether it may proceed, decided before its handler runs, in kube-apiserver's order:
authentication (the kubeconfig's admin token, or a ServiceAccount token; 401 otherwise), then impersonation, then
RBAC (403).

The kubeconfig's token is the cluster admin (``kubernetes-admin`` in ``system:masters``: allowed everything, as
on a kubeadm or kind cluster). ServiceAccount tokens come from the TokenRequest API (``tokens.py``).
"""

from __future__ import annotations

import hmac

from aiohttp import web

from . import impersonation
from .cluster import Cluster
from .errors import ApiError
from .rbac import ADMIN, Attributes, Authorizer, User, forbidden
from .tokens import TokenIssuer

USER_KEY = "xpchaos.user"  # where the request keeps its effective identity


class Access:
    def __init__(self, cluster: Cluster, admin_token: str | None, tokens: TokenIssuer) -> None:
        self.admin_token = admin_token
        self.tokens = tokens
        self.authorizer = Authorizer(cluster.store)

    def authenticate(self, request: web.Request) -> User:
        """The token's identity (401 ``Unauthorized`` when it is missing, unknown, expired or revoked)."""
        if self.admin_token is None:  # a server started without a token serves everyone as the admin
            return ADMIN
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":  # the scheme is case-insensitive (RFC 7235); in-cluster clients send "bearer"
            given = ""
        given = given.strip()
        if given and hmac.compare_digest(given.encode(), self.admin_token.encode()):
            return ADMIN
        user = self.tokens.authenticate(given) if given.count(".") == 2 else None
        if user is None:
            raise ApiError(401, "Unauthorized")
        return user

    def authorize(self, request: web.Request, requester: User) -> User:
        """The identity the request acts as (impersonated or not), once RBAC allowed it; 403 otherwise."""
        user = impersonation.impersonate(request.headers, request.path, requester, self.authorizer)
        request[USER_KEY] = user
        attrs = Attributes.of_request(request.method, request.path, request.query)
        decision = self.authorizer.authorize(user, attrs)
        if not decision.allowed:
            raise forbidden(user, attrs, decision.reason)
        return user


def user_of(request: web.Request) -> User:
    """The request's effective identity (the admin where nothing authenticated it, e.g. no token configured)."""
    user = request.get(USER_KEY)
    return user if isinstance(user, User) else ADMIN
