"""``kubectl auth can-i`` (SelfSubjectAccessReview), ``kubectl auth can-i --list`` (SelfSubjectRulesReview) and
``kubectl auth whoami`` answer from the same authorizer that guards the API, for the token's own identity; the admin
checks another identity with ``--as`` (impersonation), as on a real cluster."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.sandbox.rbac.identities import Grants, Identity, forbidden, kubectl
from tests.support.sandboxes import Sandbox

READ_CONFIGMAPS = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
                   {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["held"],
                    "verbs": ["update"]}]


def _can_i(kubectl_bin: str, home: Path, kubeconfig: Path | str, *args: str) -> str:
    result = kubectl(kubectl_bin, home, kubeconfig, "auth", "can-i", *args)
    assert result.returncode in (0, 1), result.stderr  # 0 yes, 1 no
    answer = result.stdout.strip()
    assert answer == ("yes" if result.returncode == 0 else "no"), (result.stdout, result.stderr)
    return answer


def test_can_i_answers_for_the_tokens_identity(ns: str, other_ns: str, identity: Callable[..., Identity],
                                               grants: Grants, kubectl_bin: str, tmp_path: Path) -> None:
    who = identity(ns)
    grants.bind(who, grants.role(ns, READ_CONFIGMAPS), ns)
    expected = {("get", "configmaps", "-n", ns): "yes", ("list", "configmaps", "-n", ns): "yes",
                ("delete", "configmaps", "-n", ns): "no", ("get", "configmaps", "-n", other_ns): "no",
                ("list", "configmaps", "-A"): "no", ("update", "leases/held", "-n", ns): "yes",
                ("update", "leases/other", "-n", ns): "no", ("get", "/api"): "yes", ("get", "/metrics"): "no",
                ("create", "selfsubjectaccessreviews.authorization.k8s.io"): "yes"}
    for args, answer in expected.items():
        assert _can_i(kubectl_bin, tmp_path, who.kubeconfig, *args) == answer, args


def test_access_reviews_with_the_official_client(ns: str, identity: Callable[..., Identity], grants: Grants,
                                                 admin: client.ApiClient) -> None:
    who = identity(ns)
    role = grants.role(ns, READ_CONFIGMAPS, name="reader")
    grants.bind(who, role, ns, name="readers")
    auth: Any = client.AuthorizationV1Api(who.api)

    def review(**attributes: str) -> Any:
        return auth.create_self_subject_access_review({"spec": {"resourceAttributes": attributes}}).status

    allowed = review(verb="list", resource="configmaps", namespace=ns)
    assert allowed.allowed is True
    assert allowed.reason == (f'RBAC: allowed by RoleBinding "readers/{ns}" of Role "reader" to ServiceAccount '
                              f'"runner/{ns}"')
    denied = review(verb="list", resource="secrets", namespace=ns)
    assert denied.allowed is False and denied.reason is None and denied.denied is None
    discovery = auth.create_self_subject_access_review({"spec": {"nonResourceAttributes": {"path": "/apis/apps",
                                                                                           "verb": "get"}}}).status
    assert discovery.reason == ('RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole '
                                '"system:discovery" to Group "system:authenticated"')
    grants.bind(who, "absent", ns, name="broken")
    broken = review(verb="delete", resource="configmaps", namespace=ns)
    assert broken.allowed is False
    assert broken.reason == 'RBAC: role.rbac.authorization.k8s.io "absent" not found'
    as_admin = client.AuthorizationV1Api(admin).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}}).status
    assert as_admin.allowed is True  # system:masters, before RBAC is asked


def test_can_i_list_shows_the_rules(ns: str, identity: Callable[..., Identity], grants: Grants, kubectl_bin: str,
                                    tmp_path: Path) -> None:
    who = identity(ns)
    grants.bind(who, grants.role(ns, READ_CONFIGMAPS), ns)
    listed = kubectl(kubectl_bin, tmp_path, who.kubeconfig, "auth", "can-i", "--list")  # the context's namespace
    assert listed.returncode == 0, listed.stderr
    rows = {" ".join(line.split()) for line in listed.stdout.splitlines()}
    for row in ("configmaps [] [] [get list]", "leases.coordination.k8s.io [] [held] [update]",
                "selfsubjectaccessreviews.authorization.k8s.io [] [] [create]", "[/api/*] [] [get]"):
        assert row in rows, (row, listed.stdout)
    assert not any(row.startswith("secrets") for row in rows)


def test_rules_reviews_with_the_official_client(ns: str, identity: Callable[..., Identity], grants: Grants) -> None:
    who = identity(ns)
    grants.bind(who, grants.role(ns, READ_CONFIGMAPS), ns)
    auth: Any = client.AuthorizationV1Api(who.api)
    status = auth.create_self_subject_rules_review({"spec": {"namespace": ns}}).status
    rules = [(r.verbs, r.api_groups, r.resources, r.resource_names) for r in status.resource_rules]
    assert (["get", "list"], [""], ["configmaps"], None) in rules
    assert status.incomplete is False and status.evaluation_error is None
    elsewhere = auth.create_self_subject_rules_review({"spec": {"namespace": "kube-system"}}).status
    assert not any("configmaps" in (r.resources or []) for r in elsewhere.resource_rules)
    grants.bind(who, "absent", ns, name="broken")
    broken = auth.create_self_subject_rules_review({"spec": {"namespace": ns}}).status
    assert broken.evaluation_error == 'role.rbac.authorization.k8s.io "absent" not found'
    with pytest.raises(client.ApiException) as caught:
        auth.create_self_subject_rules_review({"spec": {}})
    assert caught.value.status == 400 and json.loads(caught.value.body)["message"] == "no namespace on request"


def test_the_admin_checks_a_service_account_with_as(sandbox: Sandbox, ns: str, identity: Callable[..., Identity],
                                                   grants: Grants, kubectl_bin: str, tmp_path: Path) -> None:
    who = identity(ns)
    grants.bind(who, grants.role(ns, READ_CONFIGMAPS), ns)
    as_runner = ("--as", who.user)
    assert _can_i(kubectl_bin, tmp_path, sandbox.kubeconfig, "get", "configmaps", "-n", ns, *as_runner) == "yes"
    assert _can_i(kubectl_bin, tmp_path, sandbox.kubeconfig, "get", "secrets", "-n", ns, *as_runner) == "no"
    assert _can_i(kubectl_bin, tmp_path, sandbox.kubeconfig, "get", "secrets", "-n", ns) == "yes"  # the admin
    listed = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "auth", "can-i", "--list", "-n", ns, *as_runner)
    assert "configmaps" in listed.stdout and "*.*" not in listed.stdout, listed.stdout
    whoami = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "auth", "whoami", "-o", "json", *as_runner)
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info == {"username": who.user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                                     "system:authenticated"]}
    # the impersonated request itself is authorized as the ServiceAccount
    got = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "get", "secrets", "-n", ns, *as_runner)
    assert got.returncode == 1
    assert got.stderr.strip().endswith(f'User "{who.user}" cannot list resource "secrets" in API group "" in the '
                                       f'namespace "{ns}"')
    # a user and groups: the groups' grants count, system:authenticated is added
    readers = grants.role(ns, [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}], name="auditors")
    grants.bind_group("auditors", readers, ns)
    as_jane = ("--as", "jane", "--as-group", "auditors")
    assert _can_i(kubectl_bin, tmp_path, sandbox.kubeconfig, "list", "secrets", "-n", ns, *as_jane) == "yes"
    assert _can_i(kubectl_bin, tmp_path, sandbox.kubeconfig, "list", "secrets", "-n", ns, "--as", "jane") == "no"
    jane = kubectl(kubectl_bin, tmp_path, sandbox.kubeconfig, "auth", "whoami", "-o", "json", *as_jane)
    assert json.loads(jane.stdout)["status"]["userInfo"]["groups"] == ["auditors", "system:authenticated"]


def test_impersonation_needs_the_impersonate_verb(sandbox: Sandbox, ns: str, identity: Callable[..., Identity],
                                                 grants: Grants, kubectl_bin: str, tmp_path: Path) -> None:
    who = identity(ns)
    target = identity(ns, "deployer")
    grants.bind(target, grants.role(ns, READ_CONFIGMAPS), ns, name="deployer")
    # kubectl's discovery is refused first; like kube-apiserver's answer, the sandbox's is a Forbidden Status
    denied = kubectl(kubectl_bin, tmp_path, who.kubeconfig, "get", "configmaps", "--as", target.user)
    assert denied.returncode == 1 and "Error from server (Forbidden)" in denied.stderr, denied.stderr
    as_deployer = _impersonating(who, target.user)
    message = forbidden(lambda: client.CoreV1Api(as_deployer).list_namespaced_config_map(ns))
    assert message == (f'serviceaccounts "deployer" is forbidden: User "{who.user}" cannot impersonate resource '
                       f'"serviceaccounts" in API group "" in the namespace "{ns}"')
    as_jane = _impersonating(who, "jane")
    message = forbidden(lambda: client.CoreV1Api(as_jane).list_namespaced_config_map(ns))
    assert message == (f'users "jane" is forbidden: User "{who.user}" cannot impersonate resource "users" in API '
                       'group "" at the cluster scope')
    grants.bind(who, grants.role(ns, [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"],
                                       "resourceNames": ["deployer"]}], name="impersonator"), ns, name="impersonator")
    allowed = kubectl(kubectl_bin, tmp_path, who.kubeconfig, "get", "configmaps", "--as", target.user)
    assert allowed.returncode == 0, allowed.stderr
    assert _can_i(kubectl_bin, tmp_path, who.kubeconfig, "get", "configmaps", "--as", target.user) == "yes"
    assert client.CoreV1Api(as_deployer).list_namespaced_config_map(ns).items == []  # as the deployer: allowed
    forbidden(lambda: client.CoreV1Api(as_jane).list_namespaced_config_map(ns))  # only that ServiceAccount


def _impersonating(who: Identity, user: str) -> client.ApiClient:
    api = client.ApiClient(who.api.configuration)
    api.set_default_header("Impersonate-User", user)
    return api
