"""RBAC as the enforcing sandbox sees it: deploy/'s manifests applied, ServiceAccount kubeconfigs, targets reached
through them, and a matcher that says which rule of a Role allows a recorded API call."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from tests.support import targets
from tests.support.commands import xpchaos
from tests.support.paths import ROOT
from tests.support.sandboxes import Sandbox

MANIFESTS = ROOT / "deploy" / "kubernetes"
RUNNER = "xpchaos"
READER = "xpchaos-reader"
HOME_NAMESPACE = "xpchaos"


def account(name: str) -> str:
    return f"system:serviceaccount:{HOME_NAMESPACE}:{name}"


def manifest_docs(names: Iterable[str] = ("00-namespace.yaml", "serviceaccount.yaml", "rbac.yaml")) -> list[Any]:
    return [d for name in names for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]


def apply_manifests(box: Sandbox, docs: list[Any] | None = None) -> None:
    """Namespace, ServiceAccounts and RBAC of deploy/kubernetes (or ``docs``), created as the sandbox's admin."""
    api = config.new_client_from_config(config_file=box.kubeconfig)
    try:
        core: Any = client.CoreV1Api(api)
        rbac: Any = client.RbacAuthorizationV1Api(api)
        creators = {"Namespace": lambda d: core.create_namespace(d),
                    "ServiceAccount": lambda d: core.create_namespaced_service_account(d["metadata"]["namespace"], d),
                    "ClusterRole": rbac.create_cluster_role, "ClusterRoleBinding": rbac.create_cluster_role_binding,
                    "Role": lambda d: rbac.create_namespaced_role(d["metadata"]["namespace"], d),
                    "RoleBinding": lambda d: rbac.create_namespaced_role_binding(d["metadata"]["namespace"], d)}
        for doc in manifest_docs() if docs is None else docs:
            creators[doc["kind"]](doc)
    finally:
        api.close()


def account_kubeconfig(box: Sandbox, name: str, out: Path) -> Path:
    """A kubeconfig with a TokenRequest token of the ServiceAccount ``xpchaos/NAME``."""
    made = xpchaos("sandbox", "kubeconfig", "--serviceaccount", f"{HOME_NAMESPACE}/{name}", "--state-dir",
                   str(box.state_dir), "-o", str(out))
    assert made.returncode == 0, made.stderr
    return out


def target_through(source: Path, out: Path, kubeconfig: Path) -> Path:
    """The target ``source`` reached through ``kubeconfig``, with the deployed target's safety section (Lease and
    emergency stop in the xpchaos namespace, where the game-day Role grants them)."""
    configmap = next(d for d in manifest_docs(["configmap-target.yaml"]) if d.get("kind") == "ConfigMap")
    context = yaml.safe_load(kubeconfig.read_text())["current-context"]

    def edit(doc: dict[str, Any]) -> None:
        doc.update(kubeconfig=str(kubeconfig), context=context, allowedContexts=[context])
        doc["safety"] = yaml.safe_load(configmap["data"]["target.yaml"])["safety"]

    return targets.edited(source, out, edit)


def clean_env(directory: Path, **extra: str) -> dict[str, str]:
    """The environment of a run in ``directory``: no XPCHAOS_* or KUBECONFIG of the caller's, a private HOME, undo
    log and history."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XPCHAOS_") and k != "KUBECONFIG"}
    env.update(HOME=str(directory), XPCHAOS_UNDO_LOG=str(directory / "undo.jsonl"),
               XPCHAOS_HISTORY=str(directory / "history.sqlite"), **extra)
    return env


def run(command: list[str], directory: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=directory, env=env)


@dataclass(frozen=True)
class Rule:
    """One rule of a Role or ClusterRole, where it applies."""

    origin: str  # "ClusterRole xpchaos" or "Role crossplane-system/xpchaos-faults"
    namespace: str | None  # None: a ClusterRole's rule, cluster-wide
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...]

    def allows(self, call: dict[str, Any]) -> bool:
        """Whether this rule allows an audit-log record (``sandbox/audit.py``'s attributes)."""
        resource = call["resource"] + (f"/{call['subresource']}" if call.get("subresource") else "")
        return ((self.namespace is None or call.get("namespace") == self.namespace)
                and ({"*", call["apiGroup"]} & set(self.api_groups) != set())
                and ({"*", resource} & set(self.resources) != set())
                and ({"*", call["verb"]} & set(self.verbs) != set())
                and (not self.resource_names or call.get("name") in self.resource_names))


def _role_rules(doc: dict[str, Any]) -> list[Rule]:
    meta = doc["metadata"]
    namespace = meta.get("namespace") if doc["kind"] == "Role" else None
    origin = f"{doc['kind']} {namespace + '/' if namespace else ''}{meta['name']}"
    return [Rule(origin, namespace, tuple(r.get("apiGroups") or ()), tuple(r.get("resources") or ()),
                 tuple(r.get("verbs") or ()), tuple(r.get("resourceNames") or ())) for r in doc.get("rules") or []]


# What Kubernetes' bootstrap policy grants every authenticated identity (ClusterRole system:basic-user): the
# SelfSubjectAccessReviews the harness asks before it acts need no rule of ours.
BASIC_USER = Rule("ClusterRole system:basic-user (bootstrap)", None, ("authorization.k8s.io",),
                  ("selfsubjectaccessreviews", "selfsubjectrulesreviews"), ("create",), ())


def rules_of(docs: list[dict[str, Any]], name: str | None = None) -> list[Rule]:
    """Every rule of the roles bound to the ServiceAccount ``xpchaos/NAME``, and the bootstrap ``BASIC_USER``
    (every role's rule in ``docs`` when ``name`` is None)."""
    roles = {(d["kind"], d["metadata"].get("namespace") if d["kind"] == "Role" else None, d["metadata"]["name"]): d
             for d in docs if d["kind"] in ("Role", "ClusterRole")}
    if name is None:
        return [rule for doc in roles.values() for rule in _role_rules(doc)]
    subject = {"kind": "ServiceAccount", "name": name, "namespace": HOME_NAMESPACE}
    found: list[Rule] = [BASIC_USER]
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if subject in binding["subjects"]:
            ref = binding["roleRef"]
            namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
            found += _role_rules(roles[(ref["kind"], namespace, ref["name"])])
    return found
