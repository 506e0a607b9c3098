"""Built-in kinds beyond the core ones: RBAC (stored; enforced, see tests/sandbox/rbac), batch and apps (stored, no
controllers) and the SelfSubjectAccessReview (answered, never stored), over HTTPS with the official client and the
real kubectl."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.sandbox.api.http import Http
from tests.support.sandboxes import Sandbox

SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=sandbox.kubeconfig)
    yield api_client
    api_client.close()


def _resources(http: Http, group_version: str) -> dict[str, dict]:
    doc = http.ok(http.get(f"/apis/{group_version}"))
    return {r["name"]: r for r in doc["resources"]}


@pytest.mark.parametrize(("group_version", "name", "kind", "namespaced", "short_names", "verbs"), [
    ("rbac.authorization.k8s.io/v1", "roles", "Role", True, None, 8),
    ("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True, None, 8),
    ("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False, None, 8),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False, None, 8),
    ("batch/v1", "cronjobs", "CronJob", True, ["cj"], 8),
    ("batch/v1", "jobs", "Job", True, None, 8),
    ("apps/v1", "deployments", "Deployment", True, ["deploy"], 8),
    ("authorization.k8s.io/v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, None, 1),
])
def test_discovery_lists_the_kinds_with_their_verbs_and_short_names(
        http: Http, group_version: str, name: str, kind: str, namespaced: bool, short_names: list[str] | None,
        verbs: int) -> None:
    entry = _resources(http, group_version)[name]
    assert entry["kind"] == kind and entry["namespaced"] is namespaced
    assert entry.get("shortNames") == short_names
    assert len(entry["verbs"]) == verbs
    if verbs == 1:
        assert entry["verbs"] == ["create"]
    groups = {g["name"] for g in http.ok(http.get("/apis"))["groups"]}
    assert group_version.split("/")[0] in groups


def test_workloads_have_status_subresources(http: Http) -> None:
    for group_version, name in (("batch/v1", "cronjobs"), ("batch/v1", "jobs"), ("apps/v1", "deployments")):
        assert f"{name}/status" in _resources(http, group_version)


def test_rbac_objects_are_stored_and_served_by_the_official_client(api: client.ApiClient, ns: str) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rule = client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get"], resource_names=["stop"])
    rbac.create_namespaced_role(ns, client.V1Role(metadata=client.V1ObjectMeta(name="reader"), rules=[rule]))
    subject = client.RbacV1Subject(kind="ServiceAccount", name="runner", namespace=ns)
    rbac.create_namespaced_role_binding(ns, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="reader"), subjects=[subject],
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="reader")))
    cluster_name = f"{ns}-events"
    rbac.create_cluster_role(client.V1ClusterRole(metadata=client.V1ObjectMeta(name=cluster_name), rules=[
        client.V1PolicyRule(api_groups=[""], resources=["events"], verbs=["list", "watch"])]))
    rbac.create_cluster_role_binding(client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=cluster_name), subjects=[subject],
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=cluster_name)))
    try:
        role = rbac.read_namespaced_role("reader", ns)
        assert role.rules[0].resource_names == ["stop"] and role.rules[0].verbs == ["get"]
        binding = rbac.read_namespaced_role_binding("reader", ns)
        assert binding.role_ref.kind == "Role" and binding.subjects[0].name == "runner"
        assert cluster_name in [r.metadata.name for r in rbac.list_cluster_role().items]
        assert rbac.read_cluster_role_binding(cluster_name).role_ref.name == cluster_name
        assert rbac.read_cluster_role(cluster_name).metadata.namespace is None
    finally:
        rbac.delete_cluster_role_binding(cluster_name)
        rbac.delete_cluster_role(cluster_name)
    with pytest.raises(ApiException) as gone:
        rbac.read_cluster_role(cluster_name)
    assert gone.value.status == 404


def test_workloads_are_stored_without_controllers(api: client.ApiClient, ns: str) -> None:
    container = client.V1Container(name="main", image="busybox", args=["--poll=10m"])
    template = client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "x"}),
                                        spec=client.V1PodSpec(containers=[container], restart_policy="Never"))
    apps, batch = client.AppsV1Api(api), client.BatchV1Api(api)
    apps.create_namespaced_deployment(ns, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web", labels={"app": "x"}),
        spec=client.V1DeploymentSpec(selector=client.V1LabelSelector(match_labels={"app": "x"}), template=template)))
    batch.create_namespaced_cron_job(ns, client.V1CronJob(
        metadata=client.V1ObjectMeta(name="weekly"),
        spec=client.V1CronJobSpec(schedule="0 10 * * 3", concurrency_policy="Forbid",
                                  job_template=client.V1JobTemplateSpec(spec=client.V1JobSpec(template=template)))))
    batch.create_namespaced_job(ns, client.V1Job(metadata=client.V1ObjectMeta(name="once"),
                                                 spec=client.V1JobSpec(template=template)))
    listed = apps.list_namespaced_deployment(ns, label_selector="app=x").items
    assert [d.spec.template.spec.containers[0].args for d in listed] == [["--poll=10m"]]
    cron = batch.read_namespaced_cron_job("weekly", ns)
    assert cron.spec.schedule == "0 10 * * 3" and cron.spec.concurrency_policy == "Forbid"
    assert batch.read_namespaced_job("once", ns).status is None  # nothing runs it
    assert [p.metadata.name for p in client.CoreV1Api(api).list_namespaced_pod(ns).items] == []


def test_self_subject_access_review_with_the_official_client(api: client.ApiClient) -> None:
    auth = client.AuthorizationV1Api(api)
    review = auth.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
            verb="create", resource="leases", group="coordination.k8s.io", namespace="xpchaos"))))
    # the kubeconfig's admin is in system:masters: allowed before RBAC is asked, so without a reason (as real)
    assert review.status.allowed is True and review.status.reason is None
    assert review.spec.resource_attributes.resource == "leases"
    assert review.spec.resource_attributes.namespace == "xpchaos"
    non_resource = auth.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(non_resource_attributes=client.V1NonResourceAttributes(
            path="/healthz", verb="get"))))
    assert non_resource.status.allowed is True


def test_self_subject_access_review_is_create_only_and_not_stored(http: Http) -> None:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "secrets", "namespace": "default"}}}
    answer = http.ok(http.post(SSAR, body), 201)
    assert answer["status"] == {"allowed": True}
    assert answer["metadata"] == {"creationTimestamp": None} and answer["spec"] == body["spec"]
    for method, path in (("GET", SSAR), ("GET", f"{SSAR}/x"), ("DELETE", f"{SSAR}/x"), ("PUT", f"{SSAR}/x")):
        response = http.request(method, path, {} if method == "PUT" else None)
        assert response.status_code == 405, (method, path)
        assert response.json()["reason"] == "MethodNotAllowed"
    openapi = http.ok(http.get("/openapi/v3/apis/authorization.k8s.io/v1"))
    assert SSAR in openapi["paths"]
    assert list(openapi["paths"][SSAR]) == ["post"]


@pytest.mark.parametrize(("spec", "field"), [
    ({}, "spec.resourceAttributes"),
    ({"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/", "verb": "get"}},
     "spec.nonResourceAttributes"),
])
def test_self_subject_access_review_needs_exactly_one_kind_of_attributes(http: Http, spec: dict,
                                                                         field: str) -> None:
    response = http.post(SSAR, {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                "spec": spec})
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == field


def _kubectl(kubectl_bin: str, kube_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl_bin, *args], capture_output=True, text=True, env=kube_env, timeout=30)


def test_kubectl_auth_can_i_says_yes(kubectl_bin: str, kube_env: dict[str, str]) -> None:
    # kubectl sends the review as protobuf; the sandbox decodes it
    for args in (("create", "leases.coordination.k8s.io", "-n", "xpchaos"), ("delete", "secrets", "-n", "default"),
                 ("list", "cronjobs", "-A"), ("get", "/healthz")):
        result = _kubectl(kubectl_bin, kube_env, "auth", "can-i", *args)
        assert result.returncode == 0 and result.stdout.strip() == "yes", (args, result.stdout, result.stderr)


def test_kubectl_api_resources_lists_verbs_and_short_names(kubectl_bin: str, kube_env: dict[str, str]) -> None:
    result = _kubectl(kubectl_bin, kube_env, "api-resources", "-o", "wide")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0]
    columns = {name: header.index(name) for name in ("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND",
                                                     "VERBS", "CATEGORIES")}

    def cell(line: str, name: str) -> str:
        order = sorted(columns.values())
        start = columns[name]
        nxt = next((c for c in order if c > start), None)
        return line[start:nxt].strip()

    rows = {(cell(line, "NAME"), cell(line, "APIVERSION")): line for line in lines[1:]}
    expected = {
        ("roles", "rbac.authorization.k8s.io/v1"): "", ("clusterroles", "rbac.authorization.k8s.io/v1"): "",
        ("rolebindings", "rbac.authorization.k8s.io/v1"): "",
        ("clusterrolebindings", "rbac.authorization.k8s.io/v1"): "",
        ("cronjobs", "batch/v1"): "cj", ("jobs", "batch/v1"): "", ("deployments", "apps/v1"): "deploy",
        ("selfsubjectaccessreviews", "authorization.k8s.io/v1"): "",
    }
    for key, short in expected.items():
        assert key in rows, key
        assert cell(rows[key], "SHORTNAMES") == short, key
    assert cell(rows[("selfsubjectaccessreviews", "authorization.k8s.io/v1")], "VERBS") == "create"
    assert cell(rows[("selfsubjectaccessreviews", "authorization.k8s.io/v1")], "NAMESPACED") == "false"
    assert cell(rows[("clusterroles", "rbac.authorization.k8s.io/v1")], "VERBS") == (
        "create,delete,deletecollection,get,list,patch,update,watch")
    assert cell(rows[("deployments", "apps/v1")], "CATEGORIES") == "all"
    assert cell(rows[("cronjobs", "batch/v1")], "NAMESPACED") == "true"


def test_kubectl_gets_the_new_kinds_by_short_name(kubectl_bin: str, kube_env: dict[str, str], ns: str) -> None:
    manifest = f"""
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly, namespace: {ns}}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: main, image: busybox}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: readers, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
subjects: [{{kind: ServiceAccount, name: runner, namespace: {ns}}}]
"""
    applied = subprocess.run([kubectl_bin, "apply", "-f", "-"], input=manifest, capture_output=True, text=True,
                             env=kube_env, timeout=30)
    assert applied.returncode == 0, applied.stderr
    cron = _kubectl(kubectl_bin, kube_env, "get", "cj", "-n", ns)
    assert cron.returncode == 0, cron.stderr
    assert cron.stdout.split("\n")[0].split()[:3] == ["NAME", "SCHEDULE", "TIMEZONE"]
    assert "nightly" in cron.stdout and "0 3 * * *" in cron.stdout
    binding = _kubectl(kubectl_bin, kube_env, "get", "rolebinding", "readers", "-n", ns, "-o", "wide")
    assert binding.returncode == 0, binding.stderr
    assert "ClusterRole/view" in binding.stdout and f"{ns}/runner" in binding.stdout
