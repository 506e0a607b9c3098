"""deploy/: the game-day manifests apply to a cluster (the sandbox), the target and suite inside them parse, the
RBAC grants what the experiments need, and the container runs xpchaos as a non-root user."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.sandboxes import Sandbox
from xpchaos.controls import permissions
from xpchaos.core import access
from xpchaos.core import target as targets
from xpchaos.run import gameday, rbac_manifest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = DEPLOY / "kubernetes"


def _docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _kubectl(kubectl_bin: str, kube_env: dict[str, str], *args: str,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([kubectl_bin, *args], input=stdin, capture_output=True, text=True, env=kube_env,
                          timeout=60, cwd=ROOT)


def test_kubectl_apply_creates_everything(sandbox: Sandbox, kubectl_bin: str, kube_env: dict[str, str]) -> None:
    # the Role for the faults lives in the providers' namespace, which Crossplane's Helm chart creates
    made = _kubectl(kubectl_bin, kube_env, "apply", "-f", "-",
                    stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: crossplane-system}\n")
    assert made.returncode == 0, made.stderr
    applied = _kubectl(kubectl_bin, kube_env, "apply", "-f", "deploy/kubernetes/")
    assert applied.returncode == 0, applied.stderr
    again = _kubectl(kubectl_bin, kube_env, "apply", "-f", "deploy/kubernetes/")  # idempotent
    assert again.returncode == 0, again.stderr
    listed = _kubectl(kubectl_bin, kube_env, "get",
                      "cronjob,serviceaccount,role,rolebinding,clusterrole,clusterrolebinding,configmap,pvc",
                      "-n", "xpchaos", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    names = set(listed.stdout.split())
    for expected in ("cronjob.batch/xpchaos-gameday", "serviceaccount/xpchaos",
                     "role.rbac.authorization.k8s.io/xpchaos-gameday",
                     "rolebinding.rbac.authorization.k8s.io/xpchaos-gameday",
                     "clusterrole.rbac.authorization.k8s.io/xpchaos",
                     "clusterrolebinding.rbac.authorization.k8s.io/xpchaos", "configmap/xpchaos-target",
                     "persistentvolumeclaim/xpchaos-work"):
        assert expected in names, (expected, listed.stdout)
    faults = _kubectl(kubectl_bin, kube_env, "get", "role,rolebinding", "-n", "crossplane-system", "-o", "name")
    assert "role.rbac.authorization.k8s.io/xpchaos-faults" in faults.stdout.split(), faults.stdout
    cron = _kubectl(kubectl_bin, kube_env, "get", "cronjob", "xpchaos-gameday", "-n", "xpchaos",
                    "-o", "jsonpath={.spec.schedule}|{.spec.jobTemplate.spec.template.spec.serviceAccountName}")
    assert cron.stdout == "0 10 * * 3|xpchaos", cron.stdout + cron.stderr
    can = _kubectl(kubectl_bin, kube_env, "auth", "can-i", "create", "leases", "-n", "xpchaos",
                   "--as", "system:serviceaccount:xpchaos:xpchaos")
    assert can.stdout.strip() == "yes", can.stderr  # the game-day Role grants it
    cannot = _kubectl(kubectl_bin, kube_env, "auth", "can-i", "create", "leases", "-n", "default",
                      "--as", "system:serviceaccount:xpchaos:xpchaos")
    assert cannot.stdout.strip() == "no", cannot.stderr  # and nothing outside its namespace (RBAC is enforced)


def test_the_target_and_the_suite_in_the_configmap_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = _one("ConfigMap", "xpchaos-target")["data"]
    target = targets.parse(yaml.safe_load(data["target.yaml"]), Path("configmap"))
    assert target.kubeconfig is None and target.context is None  # in-cluster: the pod's ServiceAccount
    assert {p.role for p in target.providers.values()} == {"primary", "secondary"}
    assert target.slos["dns_convergence"] == 90
    assert (target.safety.lease_namespace, target.safety.emergency_stop_namespace) == ("xpchaos", "xpchaos")
    assert target.safety.emergency_stop_name == "xpchaos-emergency-stop"
    suite_doc = yaml.safe_load(data["suite.yaml"])
    assert suite_doc["kind"] == "GameDay" and suite_doc["steadyState"] == {"timeout": "5m"}
    assert target.allowed_contexts == ("in-cluster",)  # xpchaos.core.kube.IN_CLUSTER: the pod's ServiceAccount
    experiments = [s["experiment"] for s in suite_doc["steps"] if "experiment" in s]
    assert experiments == ["experiments/revoke-credentials.json", "experiments/block-provider-api.json",
                           "experiments/delete-providerconfig.json"]
    assert [s["pause"] for s in suite_doc["steps"] if "pause" in s] == ["60s", "60s"]
    # the image's working directory holds experiments/, as the repository root does
    suite_path = tmp_path / "suite.yaml"
    suite_path.write_text(data["suite.yaml"])
    monkeypatch.chdir(ROOT)
    suite = gameday.load(suite_path)
    assert len(suite.steps) == 5 and suite.steady_timeout == 300


def _example_target() -> targets.Target:
    return targets.parse(yaml.safe_load(_one("ConfigMap", "xpchaos-target")["data"]["target.yaml"]),
                         Path("configmap"))


def _rules_for(wanted: access.Access, account: str = "xpchaos") -> list[dict[str, Any]]:
    """The RBAC rules of the manifests that reach ``account`` in ``wanted``'s namespace."""
    docs = _docs()
    subject = {"kind": "ServiceAccount", "name": account, "namespace": "xpchaos"}
    rules = []
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if subject not in binding["subjects"]:
            continue
        if binding["kind"] == "RoleBinding" and (wanted.all_namespaces or
                                                 binding["metadata"]["namespace"] != wanted.namespace):
            continue
        ref = binding["roleRef"]
        # a RoleBinding's Role is in the binding's namespace; a ClusterRole has none
        namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        role = next(d for d in docs if d["kind"] == ref["kind"] and d["metadata"]["name"] == ref["name"]
                    and d["metadata"].get("namespace") == namespace)
        rules.extend(role["rules"])
    return rules


def _allows(rule: dict[str, Any], wanted: access.Access) -> bool:
    names = rule.get("resourceNames")
    return (wanted.group in rule["apiGroups"] and ({wanted.resource, "*"} & set(rule["resources"]) != set())
            and wanted.verb in rule["verbs"] and (not names or wanted.name in names))


RUNS: tuple[access.Use, ...] = (*permissions.RUN_USES, "revoke-credentials", "revoke-identity")


@pytest.mark.parametrize(("account", "uses"), [("xpchaos", RUNS), ("xpchaos", ("discover", "preflight")),
                                               ("xpchaos-reader", ("discover", "preflight"))])
def test_rbac_grants_each_identity_what_it_needs(account: str, uses: tuple[access.Use, ...]) -> None:
    wanted = access.needed(_example_target(), uses)
    assert len(wanted) > 20
    missing = [a.what() for a in wanted if not any(_allows(r, a) for r in _rules_for(a, account))]
    assert not missing, missing
    # game days read the emergency-stop ConfigMap by name, and nothing else of ConfigMaps
    stop = access.Access("get", "configmaps", "", "xpchaos", "xpchaos-emergency-stop")
    assert any(_allows(r, stop) for r in _rules_for(stop, account)) == (account == "xpchaos")
    other = access.Access("get", "configmaps", "", "xpchaos", "other")
    assert not any(_allows(r, other) for r in _rules_for(other, account))


def test_the_reader_may_change_nothing() -> None:
    writes = [access.Access(v, "providerconfigs", "aws.upbound.io") for v in ("create", "delete", "patch")]
    writes += [access.Access(v, "secrets", "", "crossplane-system", "aws-creds") for v in ("patch", "delete")]
    writes += [access.Access("create", "networkpolicies", "networking.k8s.io", "crossplane-system"),
               access.Access("create", "leases", "coordination.k8s.io", "xpchaos")]
    assert all(any(_allows(r, a) for r in _rules_for(a, "xpchaos")) for a in writes)  # the control
    assert not [a.what() for a in writes if any(_allows(r, a) for r in _rules_for(a, "xpchaos-reader"))]
    read_roles = [d for d in _docs()
                  if d["kind"] in ("Role", "ClusterRole") and d["metadata"]["name"] == "xpchaos-read"]
    assert len(read_roles) == 2 and all(rbac_manifest.read_only(d) for d in read_roles)


def test_rbac_yaml_is_the_table_rendered_for_the_example_target() -> None:
    """One table: deploy/'s RBAC is exactly what `xpchaos rbac` renders from it for the example target."""
    rendered = rbac_manifest.render(_example_target())
    assert (MANIFESTS / "rbac.yaml").read_text() == rendered, (
        "deploy/kubernetes/rbac.yaml differs from the table (src/xpchaos/core/access.py); regenerate it with: "
        "xpchaos rbac --offline --target deploy/kubernetes/configmap-target.yaml -o deploy/kubernetes/rbac.yaml")


def test_rbac_covers_crossplane_v1_and_v2_groups() -> None:
    groups = {g for d in _docs() if d["kind"] == "ClusterRole" for r in d["rules"] for g in r["apiGroups"]}
    assert {"aws.upbound.io", "aws.m.upbound.io", "azure.upbound.io", "azure.m.upbound.io", "rds.aws.upbound.io",
            "rds.aws.m.upbound.io", "route53.aws.m.upbound.io", "sql.azure.m.upbound.io"} <= groups
    v2 = [r for d in _docs() if d["kind"] == "ClusterRole" for r in d["rules"] if "aws.m.upbound.io" in r["apiGroups"]]
    assert any("clusterproviderconfigs" in r["resources"] and "delete" in r["verbs"] for r in v2)


def test_rbac_is_least_privilege() -> None:
    docs = _docs()
    rules = [(d["kind"], d["metadata"].get("namespace"), r) for d in docs if d["kind"] in ("Role", "ClusterRole")
             for r in d["rules"]]
    composite_groups = {"database.example.org"}
    for _kind, _ns, rule in rules:
        assert "*" not in rule["verbs"] and "*" not in rule["apiGroups"], rule
        # any kind of the platform's own composite group (XRs and their claims), read only
        assert "*" not in rule["resources"] or (set(rule["apiGroups"]) <= composite_groups
                                                and set(rule["verbs"]) <= {"get", "list", "watch"}), rule
        assert not ({"escalate", "bind", "impersonate"} & set(rule["verbs"])), rule
    secrets = [r for _k, ns, r in rules if "secrets" in r["resources"] and ns == "crossplane-system"]
    assert sorted(sorted(r["verbs"]) for r in secrets) == [["create", "delete", "get", "patch"], ["get"], ["list"]]
    assert [r["resourceNames"] for r in secrets if r["verbs"] == ["get"]] == [["aws-creds", "azure-creds"]]
    # elsewhere only the undo records' Secrets, in the harness's own namespace: written, listed, deleted, never read
    # one by one or patched
    records = [(kind, ns, sorted(r["verbs"])) for kind, ns, r in rules
               if "secrets" in r["resources"] and ns != "crossplane-system"]
    assert records == [("Role", "xpchaos", ["create", "delete", "list"])], records
    cluster_kinds = {res for kind, _ns, r in rules if kind == "ClusterRole" for res in r["resources"]}
    assert cluster_kinds == {"providerconfigs", "clusterproviderconfigs", "*", "clusters", "records", "healthchecks",
                             "mssqlservers", "events", "customresourcedefinitions",
                             "providerrevisions", "providerconfigusages", "clusterproviderconfigusages", "providers",
                             "deploymentruntimeconfigs", "pods", "nodes", "externalsecrets", "secretstores",
                             "clustersecretstores", "compositions", "deployments", "dnsendpoints",
                             "trafficmanagerexternalendpoints", "trafficmanagerazureendpoints",
                             "trafficmanagernestedendpoints", "trafficmanagerprofiles"}


def test_every_rbac_rule_has_a_comment_naming_who_needs_it() -> None:
    lines = (MANIFESTS / "rbac.yaml").read_text().splitlines()
    rule_lines = [i for i, line in enumerate(lines) if re.match(r"^\s*- apiGroups:", line)]
    assert rule_lines
    for i in rule_lines:
        above = lines[i - 1].strip()
        assert above.startswith("#"), f"rbac.yaml line {i + 1} has no comment above it"
        j = i - 1
        comment = []
        while j >= 0 and lines[j].strip().startswith("#"):
            comment.insert(0, lines[j])
            j -= 1
        assert re.search(r"(actions|probes|src/xpchaos/\w+)/\w+\.py", " ".join(comment)), comment


def test_cronjob_runs_weekly_as_non_root_with_a_read_only_root() -> None:
    cron = _one("CronJob", "xpchaos-gameday")
    spec = cron["spec"]
    assert cron["metadata"]["namespace"] == "xpchaos"
    assert spec["schedule"] == "0 10 * * 3" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "xpchaos" and pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == "xpchaos:latest"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]
    webhook = next(e for e in container["env"] if e["name"] == "XPCHAOS_WEBHOOK_URL")
    assert webhook["valueFrom"]["secretKeyRef"] == {"name": "xpchaos-webhook", "key": "url", "optional": True}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["config"] == "/etc/xpchaos" and volumes["config"]["configMap"]["name"] == "xpchaos-target"
    # reports, history and the local undo log outlive the pod: the work volume is the PersistentVolumeClaim
    claim = _one("PersistentVolumeClaim", volumes["work"]["persistentVolumeClaim"]["claimName"])
    assert claim["metadata"]["namespace"] == cron["metadata"]["namespace"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"] and claim["spec"]["resources"]["requests"]["storage"]
    report_dir = container["args"][container["args"].index("--report-dir") + 1]
    assert report_dir.startswith(mounts["work"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    for kept in ("XPCHAOS_UNDO_LOG", "XPCHAOS_HISTORY", "HOME"):
        assert env[kept].startswith(mounts["work"]), kept


def test_dockerfile_runs_xpchaos_as_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert "ARG XPCHAOS=xpchaos" in lines  # pip installs the release (tests/packaging: the same path as the README)
    entrypoint = [line for line in lines if line.startswith("ENTRYPOINT")]
    assert entrypoint == ['ENTRYPOINT ["xpchaos"]']
    cmd = [line for line in lines if line.startswith("CMD")]
    assert cmd == ['CMD ["gameday", "/etc/xpchaos/suite.yaml", "--target", "/etc/xpchaos/target.yaml"]']
    users = [line.split(None, 1)[1] for line in lines if line.startswith("USER ")]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert lines.index(next(line for line in lines if line.startswith("USER "))) > max(
        i for i, line in enumerate(lines) if line.startswith("RUN"))  # nothing runs as root after it
    # runAsNonRoot needs a numeric uid to verify without /etc/passwd lookups
    assert user.isdigit() and int(user) > 0
    cron_user = _one("CronJob", "xpchaos-gameday")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "securityContext"]["runAsUser"]
    assert str(cron_user) == user
