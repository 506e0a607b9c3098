"""Requests made with a ServiceAccount token are authorized by the Roles and bindings in the sandbox, and denied with
kube-apiserver's own 403 Status, through the official client and kubectl."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.sandbox.rbac.identities import Grants, Identity, forbidden, kubectl
from tests.support.paths import UPSTREAM_CRDS
from tests.support.sandboxes import Sandbox

UPSTREAM_PROVIDERCONFIGS = UPSTREAM_CRDS / "aws.upbound.io_providerconfigs.yaml"

Call = Callable[[Any, str], object]


def _watch(core: Any, ns: str) -> object:
    return list(watch.Watch().stream(core.list_namespaced_config_map, ns, timeout_seconds=1))


# one call of each verb kind on configmaps, as the official client makes it
CALLS: dict[str, Call] = {
    "get": lambda core, ns: core.read_namespaced_config_map("cm", ns),
    "list": lambda core, ns: core.list_namespaced_config_map(ns),
    "watch": _watch,
    "create": lambda core, ns: core.create_namespaced_config_map(ns, {"metadata": {"name": "made"}}),
    "update": lambda core, ns: core.replace_namespaced_config_map("cm", ns, {"metadata": {"name": "cm"},
                                                                             "data": {"k": "updated"}}),
    "patch": lambda core, ns: core.patch_namespaced_config_map("cm", ns, {"data": {"k": "patched"}}),
    "delete": lambda core, ns: core.delete_namespaced_config_map("cm", ns),
    "deletecollection": lambda core, ns: core.delete_collection_namespaced_config_map(ns),
}


def _fresh(admin: client.ApiClient, ns: str) -> None:
    """The objects every call expects: ConfigMap cm present, ConfigMap made absent."""
    core: Any = client.CoreV1Api(admin)
    for name in ("cm", "made"):
        try:
            core.delete_namespaced_config_map(name, ns)
        except ApiException as exc:
            assert exc.status == 404
    core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"k": "v"}})


@pytest.mark.parametrize("verb", list(CALLS))
def test_each_verb_is_allowed_only_when_granted(verb: str, admin: client.ApiClient, ns: str,
                                                identity: Callable[..., Identity], grants: Grants) -> None:
    who = identity(ns)
    grants.bind(who, grants.role(ns, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": [verb]}]), ns)
    for other, call in CALLS.items():
        _fresh(admin, ns)
        if other == verb:
            call(who.core, ns)
            continue
        message = forbidden(lambda: call(who.core, ns))  # noqa: B023 - called at once
        assert f'User "{who.user}" cannot {other} resource "configmaps" in API group "" in the namespace "{ns}"' \
            in message, (verb, other, message)


def test_wildcards_grant_every_verb_group_and_resource(ns: str, identity: Callable[..., Identity],
                                                      grants: Grants, admin: client.ApiClient) -> None:
    who = identity(ns)
    grants.bind(who, grants.role(ns, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]), ns)
    for call in CALLS.values():
        _fresh(admin, ns)
        call(who.core, ns)
    client.CoordinationV1Api(who.api).create_namespaced_lease(ns, {"metadata": {"name": "held"}})
    message = forbidden(lambda: who.core.list_namespace())  # a Role never reaches cluster-scoped kinds
    assert message == (f'namespaces is forbidden: User "{who.user}" cannot list resource "namespaces" in API group '
                       '"" at the cluster scope')


def test_the_403_texts_are_kube_apiservers(admin: client.ApiClient, ns: str, identity: Callable[..., Identity],
                                           kubectl_bin: str, tmp_path: Path) -> None:
    core: Any = client.CoreV1Api(admin)
    if "crossplane-system" not in {n.metadata.name for n in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": "crossplane-system"}})
    extensions: Any = client.ApiextensionsV1Api(admin)
    try:  # the real CRD: other tests on this session's sandbox use the same one
        extensions.create_custom_resource_definition(yaml.safe_load(UPSTREAM_PROVIDERCONFIGS.read_text()))
    except ApiException as exc:
        assert exc.status == 409  # another test made it first
    who = identity(ns)
    with pytest.raises(ApiException) as caught:
        who.core.patch_namespaced_secret("aws-creds", "crossplane-system", {"data": {}})
    assert caught.value.status == 403
    assert json.loads(caught.value.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'secrets "aws-creds" is forbidden: User "{who.user}" cannot patch resource "secrets" in API '
                   'group "" in the namespace "crossplane-system"',
        "reason": "Forbidden", "details": {"name": "aws-creds", "kind": "secrets"}, "code": 403}
    listed = kubectl(kubectl_bin, tmp_path, who.kubeconfig, "get", "providerconfigs.aws.upbound.io")
    assert listed.returncode == 1
    assert listed.stderr.strip().splitlines()[-1] == (
        f'Error from server (Forbidden): providerconfigs.aws.upbound.io is forbidden: User "{who.user}" cannot list '
        'resource "providerconfigs" in API group "aws.upbound.io" at the cluster scope')
    custom: Any = client.CustomObjectsApi(who.api)
    with pytest.raises(ApiException) as named:
        custom.get_cluster_custom_object("aws.upbound.io", "v1beta1", "providerconfigs", "default")
    assert json.loads(named.value.body)["details"] == {
        "name": "default", "group": "aws.upbound.io", "kind": "providerconfigs"}


def test_subresources_are_granted_apart(ns: str, other_ns: str, identity: Callable[..., Identity], grants: Grants,
                                        admin: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(admin)
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
                                                                                           "image": "busybox"}]}})
    apps: Any = client.AppsV1Api(admin)
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    who = identity(ns)
    grants.bind(who, grants.role(ns, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], name="pods"), ns,
                name="pods")
    assert who.core.read_namespaced_pod("p", ns).metadata.name == "p"
    message = forbidden(lambda: who.core.read_namespaced_pod_log("p", ns))  # "pods" does not cover pods/log
    assert message == (f'pods "p" is forbidden: User "{who.user}" cannot get resource "pods/log" in API group "" '
                       f'in the namespace "{ns}"')
    grants.bind(who, grants.role(ns, [
        {"apiGroups": [""], "resources": ["pods/log", "pods/status"], "verbs": ["get", "patch"]},
        {"apiGroups": ["apps"], "resources": ["*/status"], "verbs": ["patch"]},
    ]), ns)
    with pytest.raises(ApiException) as caught:  # allowed, and the sandbox serves no logs: 404, not 403
        who.core.read_namespaced_pod_log("p", ns)
    assert caught.value.status == 404
    patched = who.core.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Running"}})
    assert patched.status.phase == "Running"
    message = forbidden(lambda: who.core.patch_namespaced_pod("p", ns, {"metadata": {"labels": {"x": "y"}}}))
    assert f'cannot patch resource "pods" in API group "" in the namespace "{ns}"' in message
    client.AppsV1Api(who.api).patch_namespaced_deployment_status("d", ns, {"status": {"replicas": 1}})
    message = forbidden(lambda: client.AppsV1Api(who.api).patch_namespaced_deployment("d", ns, {"spec": {}}))
    assert message.startswith(f'deployments.apps "d" is forbidden: User "{who.user}" cannot patch resource '
                              '"deployments" in API group "apps"')
    message = forbidden(lambda: client.AppsV1Api(who.api).patch_namespaced_deployment_scale("d", ns, {"spec": {}}))
    assert 'cannot patch resource "deployments/scale" in API group "apps"' in message  # */status is status only
    message = forbidden(lambda: who.core.patch_namespaced_pod_status("p", other_ns, {"status": {}}))
    assert message.endswith(f'cannot patch resource "pods/status" in API group "" in the namespace "{other_ns}"')


def test_resource_names_narrow_a_rule(ns: str, identity: Callable[..., Identity], grants: Grants,
                                      admin: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(admin)
    for name in ("stop", "other"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name}})
    who = identity(ns)
    grants.bind(who, grants.role(ns, [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["stop"],
                                       "verbs": ["get", "list", "watch", "delete"]}]), ns)
    assert who.core.read_namespaced_config_map("stop", ns).metadata.name == "stop"
    message = forbidden(lambda: who.core.read_namespaced_config_map("other", ns))
    assert message.startswith(f'configmaps "other" is forbidden: User "{who.user}" cannot get resource')
    # a list names no object, unless its field selector names exactly one (what RequestInfo takes as the name)
    message = forbidden(lambda: who.core.list_namespaced_config_map(ns))
    assert message.startswith(f'configmaps is forbidden: User "{who.user}" cannot list resource "configmaps"')
    listed = who.core.list_namespaced_config_map(ns, field_selector="metadata.name=stop")
    assert [c.metadata.name for c in listed.items] == ["stop"]
    forbidden(lambda: who.core.list_namespaced_config_map(ns, field_selector="metadata.name=other"))
    forbidden(lambda: who.core.create_namespaced_config_map(ns, {"metadata": {"name": "stop-2"}}))
    who.core.delete_namespaced_config_map("stop", ns)


def test_roles_count_in_their_namespace_and_cluster_roles_everywhere(
        ns: str, other_ns: str, identity: Callable[..., Identity], grants: Grants) -> None:
    who = identity(ns)
    read_pods = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    grants.bind(who, grants.role(ns, read_pods), ns)
    assert who.core.list_namespaced_pod(ns).items == []
    message = forbidden(lambda: who.core.list_namespaced_pod(other_ns))
    assert message.endswith(f'in the namespace "{other_ns}"')
    message = forbidden(lambda: who.core.list_pod_for_all_namespaces())
    assert message == (f'pods is forbidden: User "{who.user}" cannot list resource "pods" in API group "" at the '
                       "cluster scope")
    # a ClusterRole bound by a RoleBinding grants in that namespace only
    cluster_role = grants.cluster_role([{"apiGroups": [""], "resources": ["secrets", "namespaces"],
                                         "verbs": ["list"]}])
    grants.bind(who, cluster_role, other_ns, kind="ClusterRole", name="secrets")
    assert who.core.list_namespaced_secret(other_ns).items == []
    forbidden(lambda: who.core.list_namespaced_secret(ns))
    forbidden(lambda: who.core.list_namespace())  # cluster-scoped: no RoleBinding reaches it
    # bound by a ClusterRoleBinding, everywhere, cluster-scoped kinds too
    grants.bind(who, cluster_role, kind="ClusterRole", name="secrets")
    assert who.core.list_namespaced_secret(ns).items == []
    assert ns in {n.metadata.name for n in who.core.list_namespace().items}
    who.core.list_secret_for_all_namespaces()


def test_non_resource_urls_need_a_cluster_role_binding(sandbox: Sandbox, ns: str, identity: Callable[..., Identity],
                                                       grants: Grants) -> None:
    who = identity(ns)
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_file
    session.headers["Authorization"] = f"Bearer {who.token}"

    def metrics() -> requests.Response:
        return session.get(f"{sandbox.api}/metrics", timeout=30)

    for path in ("/api", "/apis", "/apis/apps/v1", "/openapi/v3", "/version"):  # system:discovery, for everyone
        assert session.get(f"{sandbox.api}{path}", timeout=30).status_code == 200, path
    denied = metrics()
    assert denied.status_code == 403
    assert denied.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": f'forbidden: User "{who.user}" cannot get path "/metrics"',
                             "reason": "Forbidden", "details": {}, "code": 403}
    role = grants.cluster_role([{"nonResourceURLs": ["/metr*"], "verbs": ["get"]}])
    grants.bind(who, role, ns, kind="ClusterRole")
    assert metrics().status_code == 403  # a RoleBinding carries no non-resource URL
    grants.bind(who, role, kind="ClusterRole")
    assert metrics().status_code == 200 and "apiserver_request_total" in metrics().text
    assert session.post(f"{sandbox.api}/metrics", timeout=30).status_code == 403  # verb post, not granted


def test_a_binding_to_a_missing_role_says_so(ns: str, identity: Callable[..., Identity], grants: Grants) -> None:
    who = identity(ns)
    grants.bind(who, "absent", ns)
    message = forbidden(lambda: who.core.list_namespaced_config_map(ns))
    assert message == (f'configmaps is forbidden: User "{who.user}" cannot list resource "configmaps" in API group '
                       f'"" in the namespace "{ns}": RBAC: role.rbac.authorization.k8s.io "absent" not found')


def test_grants_apply_at_once_and_go_with_their_binding(ns: str, identity: Callable[..., Identity],
                                                        grants: Grants) -> None:
    who = identity(ns)
    forbidden(lambda: who.core.list_namespaced_config_map(ns))
    binding = grants.bind(who, grants.role(ns, [{"apiGroups": [""], "resources": ["configmaps"],
                                                 "verbs": ["list"]}]), ns)
    who.core.list_namespaced_config_map(ns)
    grants.rbac.delete_namespaced_role_binding(binding, ns)
    forbidden(lambda: who.core.list_namespaced_config_map(ns))


def test_the_admin_token_may_do_everything(admin: client.ApiClient, ns: str) -> None:
    core: Any = client.CoreV1Api(admin)
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert [s.metadata.name for s in core.list_secret_for_all_namespaces(field_selector="metadata.name=s").items]
    client.RbacAuthorizationV1Api(admin).list_cluster_role_binding()
