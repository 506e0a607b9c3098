"""The default RBAC objects a real API server creates at start-up (its ``rbac/bootstrap-roles`` hook), reduced to
those every identity relies on: ``cluster-admin`` for ``system:masters``, and for every authenticated identity
discovery (``system:discovery``), the self reviews (``system:basic-user``) and health and version
(``system:public-info-viewer``). The user-facing roles (admin, edit, view) and the controllers' roles are not
created. Like the real ones they are ordinary objects: ``kubectl get clusterroles`` lists them and deleting one
takes its grant away.
"""

from __future__ import annotations

from typing import Any

from .cluster import Cluster
from .rbac import AUTHENTICATED, PRIVILEGED_GROUP, RBAC_GROUP

_META = {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
_HEALTH = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

CLUSTER_ROLES: dict[str, list[dict[str, Any]]] = {
    "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}],
    "system:discovery": [{"nonResourceURLs": sorted(["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*",
                                                     *_HEALTH]), "verbs": ["get"]}],
    "system:basic-user": [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
         "verbs": ["create"]},
    ],
    "system:public-info-viewer": [{"nonResourceURLs": _HEALTH, "verbs": ["get"]}],
}
# binding name (= role name) -> the groups it binds
BINDINGS: dict[str, list[str]] = {
    "cluster-admin": [PRIVILEGED_GROUP],
    "system:discovery": [AUTHENTICATED],
    "system:basic-user": [AUTHENTICATED],
    "system:public-info-viewer": [AUTHENTICATED, "system:unauthenticated"],
}


def install(cluster: Cluster) -> None:
    """Create the default ClusterRoles and ClusterRoleBindings (once: the store is new at each start)."""
    roles = cluster.registry.get(RBAC_GROUP, "v1", "clusterroles")
    bindings = cluster.registry.get(RBAC_GROUP, "v1", "clusterrolebindings")
    assert roles is not None and bindings is not None
    for name, rules in CLUSTER_ROLES.items():
        cluster.create(roles, "", {"metadata": {"name": name, **_META}, "rules": rules})
    for name, groups in BINDINGS.items():
        cluster.create(bindings, "", {
            "metadata": {"name": name, **_META},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group} for group in groups],
        })
