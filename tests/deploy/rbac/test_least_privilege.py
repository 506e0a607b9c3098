"""The least-privilege RBAC of deploy/kubernetes/rbac.yaml is enough for every experiment, and nothing more.

One blueprint sandbox (fast test timings) records every API request in its audit log (``--audit-log``). The
harness's calls are those made while its own processes run: the three experiments under plain ``chaos run`` and one
``xpchaos gameday`` (the test's own steady-state checks happen between them and are not counted; the sandbox's
simulated controllers run in-process and never reach the HTTP API, so they are not in the log at all). The target
is the sandbox's with the ``safety`` section of deploy/kubernetes/configmap-target.yaml (lease and emergency stop in
the ``xpchaos`` namespace, where the game-day Role grants them).

Then: every recorded call must be allowed by a rule of rbac.yaml, and every verb x resource of every rule must have
been used by some call, unless ``NOT_EXERCISED`` below says why a passing run cannot reach it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.support import sandboxes
from tests.support.commands import CHAOS
from tests.support.paths import EXPERIMENTS, ROOT
from tests.support.runs import NAMES, RUN_TIMEOUT
from tests.support.sandboxes import Sandbox
from xpchaos.core import kube

MANIFESTS = ROOT / "deploy" / "kubernetes"
RBAC = MANIFESTS / "rbac.yaml"
PYTHON_CLIENT = kube.USER_AGENT  # every client xpchaos.core.kube makes names itself xpchaos/<version>

# Rules a passing run cannot reach, each verb x resource with the reason. Anything else in rbac.yaml that no call
# used is a privilege the experiments do not need.
NOT_EXERCISED: dict[tuple[str, str], str] = {
    ("watch", "providerconfigs"): "actions/_common.wait_object watches only when its first get does not already show "
                                  "the state it waits for; on the sandbox each change has happened by then",
    ("get", "clusters"): "src/xpchaos/run/preflight.py checks that each managed resource the target names exists",
    ("get", "records"): "src/xpchaos/run/preflight.py, as above",
    ("get", "healthchecks"): "src/xpchaos/run/preflight.py, as above",
    ("get", "mssqlservers"): "src/xpchaos/run/preflight.py, as above",
    ("list", "secrets"): "actions/credentials.py lists them only when the target's Secret is missing; "
                         "src/xpchaos/run/snapshot.py in Gherkin scenarios (`xpchaos gate`, a game day's "
                         "`scenarios:` step)",
    ("list", "networkpolicies"): "src/xpchaos/run/snapshot.py only: Gherkin scenarios (`xpchaos gate`, a game day's "
                                 "`scenarios:` step), not experiment steps",
    ("create", "secrets"): "actions/credentials.py re-creates the Secret on rollback of the delete-secret mode "
                           "(XPCHAOS_REVOKE_MODE=delete-secret); the experiments use the default invalid-key mode",
    ("delete", "secrets"): "the delete-secret revoke mode (XPCHAOS_REVOKE_MODE=delete-secret), not the default",
    ("create", "selfsubjectaccessreviews"): "src/xpchaos/run/preflight.py only (`xpchaos preflight`), not the runs",
    ("update", "leases"): "src/xpchaos/run/lease.py takes over an abandoned (expired) Lease; a single game day "
                          "never finds one",
    ("patch", "leases"): "src/xpchaos/run/lease.py renews the Lease every 20 s (RENEW_EVERY); a fast game day "
                         "ends sooner",
}

# The module that most likely made a call of (apiGroup, resource): named in the failure of an uncovered call.
LIKELY_CALLER: dict[tuple[str, str], str] = {
    ("aws.upbound.io", "providerconfigs"): "actions/providerconfig.py, actions/restore.py",
    ("azure.upbound.io", "providerconfigs"): "actions/providerconfig.py, actions/restore.py",
    ("", "secrets"): "actions/credentials.py, src/xpchaos/run/snapshot.py",
    ("networking.k8s.io", "networkpolicies"): "actions/network.py, src/xpchaos/run/snapshot.py",
    ("", "pods"): "actions/network.py",
    ("", "events"): "probes/recorder.py, actions/providerconfig.py",
    ("events.k8s.io", "events"): "probes/recorder.py",
    ("coordination.k8s.io", "leases"): "src/xpchaos/run/lease.py",
    ("", "configmaps"): "src/xpchaos/run/stops.py",
    ("", "namespaces"): "src/xpchaos/run/snapshot.py or src/xpchaos/run/preflight.py",
    ("database.example.org", "xglobaldatabases"): "probes/failover.py, probes/recorder.py, src/xpchaos/run/stops.py",
    ("authorization.k8s.io", "selfsubjectaccessreviews"): "src/xpchaos/run/preflight.py",
}


@dataclass(frozen=True)
class Rule:
    origin: str  # "ClusterRole xpchaos" or "Role crossplane-system/xpchaos-faults"
    namespace: str | None  # None: a ClusterRole's rule, cluster-wide
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...]

    def allows(self, call: dict[str, Any]) -> bool:
        resource = call["resource"] + (f"/{call['subresource']}" if call.get("subresource") else "")
        return ((self.namespace is None or call.get("namespace") == self.namespace)
                and ({"*", call["apiGroup"]} & set(self.api_groups) != set())
                and ({"*", resource} & set(self.resources) != set())
                and ({"*", call["verb"]} & set(self.verbs) != set())
                and (not self.resource_names or call.get("name") in self.resource_names))


def load_rules(path: Path = RBAC) -> list[Rule]:
    rules = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") not in ("ClusterRole", "Role"):
            continue
        meta = doc["metadata"]
        namespace = meta.get("namespace") if doc["kind"] == "Role" else None
        origin = f"{doc['kind']} {namespace + '/' if namespace else ''}{meta['name']}"
        for rule in doc.get("rules") or []:
            rules.append(Rule(origin, namespace, tuple(rule.get("apiGroups") or ()),
                              tuple(rule.get("resources") or ()), tuple(rule.get("verbs") or ()),
                              tuple(rule.get("resourceNames") or ())))
    return rules


def test_the_rule_matcher() -> None:
    """The matcher itself: namespaces of Roles, resourceNames, the core group, subresources."""
    rules = load_rules()
    def allowed(**call: Any) -> bool:
        return any(r.allows({"subresource": None, "namespace": None, "name": None, **call}) for r in rules)
    assert allowed(verb="patch", apiGroup="", resource="secrets", namespace="crossplane-system", name="aws-creds")
    assert not allowed(verb="patch", apiGroup="", resource="secrets", namespace="default", name="aws-creds")
    assert not allowed(verb="update", apiGroup="", resource="secrets", namespace="crossplane-system", name="x")
    assert allowed(verb="get", apiGroup="", resource="configmaps", namespace="xpchaos", name="xpchaos-emergency-stop")
    assert not allowed(verb="get", apiGroup="", resource="configmaps", namespace="xpchaos", name="other")
    assert not allowed(verb="list", apiGroup="", resource="configmaps", namespace="xpchaos")
    assert allowed(verb="watch", apiGroup="", resource="events")  # ClusterRole: all namespaces
    assert not allowed(verb="watch", apiGroup="events.k8s.io", resource="events")
    assert not allowed(verb="patch", apiGroup="database.example.org", resource="xglobaldatabases", name="x")
    assert not allowed(verb="get", apiGroup="database.example.org", resource="xglobaldatabases", name="x",
                       subresource="status")


@dataclass
class Recording:
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # run -> the harness's calls
    outcomes: dict[str, str] = field(default_factory=dict)  # run -> what went wrong ("" when it passed)

    def all_calls(self) -> list[tuple[str, dict[str, Any]]]:
        return [(run, call) for run, calls in self.calls.items() for call in calls]


def _table(calls: list[tuple[str, dict[str, Any]]]) -> str:
    counts = Counter((c["verb"], c["apiGroup"] or "core", c["resource"] + (f"/{c['subresource']}"
                      if c.get("subresource") else ""), c.get("namespace") or "-") for _, c in calls)
    lines = [f"  {'verb':<17} {'group':<24} {'resource':<26} {'namespace':<18} count"]
    lines += [f"  {v:<17} {g:<24} {r:<26} {n:<18} {count}" for (v, g, r, n), count in sorted(counts.items())]
    return "\n".join(lines)


def _target_with_deploy_safety(sandbox_target: Path, directory: Path) -> Path:
    """The sandbox's target with the safety section of the deployed example target (namespace xpchaos)."""
    configmap = next(d for d in yaml.safe_load_all((MANIFESTS / "configmap-target.yaml").read_text())
                     if d and d.get("kind") == "ConfigMap")
    doc = yaml.safe_load(sandbox_target.read_text())
    doc["safety"] = yaml.safe_load(configmap["data"]["target.yaml"])["safety"]
    path = directory / "target.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _ensure_namespace(box: Sandbox, name: str) -> None:
    tgt = box.target
    api = kube.api_client(tgt.kubeconfig, tgt.context)
    try:
        core: Any = client.CoreV1Api(api)
        if name not in {n.metadata.name for n in core.list_namespace().items}:
            core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    finally:
        api.close()


def _env(directory: Path, target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XPCHAOS_") and k != "KUBECONFIG"}
    env.update(HOME=str(directory), XPCHAOS_TARGET=str(target), XPCHAOS_UNDO_LOG=str(directory / "undo.jsonl"),
               XPCHAOS_HISTORY=str(directory / "history.sqlite"))
    return env


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    base = tmp_path_factory.mktemp("rbac")
    audit_path = base / "audit.jsonl"
    with sandboxes.running(base / "sandbox", *sandboxes.fast("blueprint"), "--audit-log", str(audit_path)) as started:
        assert started.target_path is not None
        target = _target_with_deploy_safety(started.target_path, base)
        box = replace(started, target_path=target)
        _ensure_namespace(box, "xpchaos")
        recording = Recording()

        def run(label: str, command: list[str], directory: Path, timeout: float) -> None:
            box.wait_steady()  # the test's own calls: before the mark, not counted
            directory.mkdir()
            start = len(audit_path.read_text().splitlines())
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=directory,
                                    env=_env(directory, target))
            # the process has exited: each of its requests was recorded when the server accepted it
            lines = audit_path.read_text().splitlines()[start:]
            recording.calls[label] = [json.loads(line) for line in lines]
            recording.outcomes[label] = "" if result.returncode == 0 else \
                f"exit {result.returncode}: {result.stdout[-1500:]}\n{result.stderr[-1500:]}"

        for name in NAMES:
            directory = base / name
            run(f"chaos run {name}", [CHAOS, "--no-version-check", "run", "--journal-path",
                                      str(directory / "journal.json"), str(EXPERIMENTS / f"{name}.json")],
                directory, RUN_TIMEOUT)
        suite = base / "suite.yaml"
        suite.write_text(f"kind: GameDay\nsteps:\n  - experiment: {EXPERIMENTS / 'revoke-credentials.json'}\n")
        directory = base / "gameday"
        run("xpchaos gameday revoke-credentials",
            [sys.executable, "-m", "xpchaos", "gameday", str(suite), "--target", str(target), "--report-dir",
             str(directory / "reports")], directory, 300)
        yield recording


def _resource_calls(recording: Recording) -> list[tuple[str, dict[str, Any]]]:
    # Discovery and other non-resource URLs (/api, /apis, /apis/GROUP/VERSION, /version, /openapi/...) are left
    # out: a real cluster grants them to every authenticated identity (ClusterRole system:discovery, bound to
    # system:authenticated), so rbac.yaml need not and does not name them.
    return [(run, call) for run, call in recording.all_calls() if "nonResourceURL" not in call]


@pytest.mark.timeout(900)  # the first one starts the sandbox and runs four experiments
def test_every_run_passed_and_only_the_harness_is_recorded(recording: Recording) -> None:
    failed = {label: why for label, why in recording.outcomes.items() if why}
    assert not failed, f"the runs must pass for their calls to be the experiments' calls: {failed}"
    agents = Counter(call.get("userAgent") or "(none)" for _, call in recording.all_calls())
    # the harness talks through the official client; anything else (kubectl, the sandbox) would show here
    assert all(agent.startswith(PYTHON_CLIENT) for agent in agents), agents
    for label, calls in recording.calls.items():
        assert calls, f"{label}: no API call recorded"
        resource_calls = [(label, c) for c in calls if "resource" in c]  # /version etc. have no group or resource
        print(f"\n{label}: {len(calls)} calls\n" + _table(resource_calls))  # shown with -s or -rP


@pytest.mark.timeout(900)  # the first one starts the sandbox and runs four experiments
def test_every_call_is_allowed_by_rbac_yaml(recording: Recording) -> None:
    rules = load_rules()
    calls = _resource_calls(recording)
    denied: Counter[str] = Counter()
    for run, call in calls:
        if not any(rule.allows(call) for rule in rules):
            key = (call["apiGroup"], call["resource"])
            denied[f"{call['verb']} {call['apiGroup'] or 'core'}/{call['resource']}"
                   f"{'/' + call['subresource'] if call.get('subresource') else ''}"
                   f" ns={call.get('namespace') or '-'} name={call.get('name') or '-'} in [{run}]"
                   f" (likely {LIKELY_CALLER.get(key, 'unknown: grep actions/ probes/ harness/')})"] += 1
    assert not denied, ("calls that no rule of deploy/kubernetes/rbac.yaml allows:\n"
                        + "\n".join(f"  {what} x{n}" for what, n in sorted(denied.items()))
                        + "\nall the harness's calls:\n" + _table(calls))


@pytest.mark.timeout(900)  # the first one starts the sandbox and runs four experiments
def test_every_rule_of_rbac_yaml_is_used(recording: Recording) -> None:
    calls = [call for _, call in _resource_calls(recording)]
    unused = []
    for rule in load_rules():
        for resource in rule.resources:
            for verb in rule.verbs:
                narrowed = Rule(rule.origin, rule.namespace, rule.api_groups, (resource,), (verb,),
                                rule.resource_names)
                if any(narrowed.allows(call) for call in calls):
                    continue
                if (verb, resource.partition("/")[0]) in NOT_EXERCISED:
                    continue
                unused.append(f"  {rule.origin}: {verb} {resource} (apiGroups {list(rule.api_groups)})")
    assert not unused, ("rules of deploy/kubernetes/rbac.yaml that no experiment or game day used (remove them, "
                        "or add them to NOT_EXERCISED with the reason):\n" + "\n".join(unused)
                        + "\nall the harness's calls:\n" + _table([("", c) for c in calls]))


@pytest.mark.timeout(900)  # the first one starts the sandbox and runs four experiments
def test_every_exemption_is_still_needed(recording: Recording) -> None:
    """An exemption for a verb the runs do use, or for a verb rbac.yaml no longer grants, is stale."""
    calls = [call for _, call in _resource_calls(recording)]
    granted = {(verb, resource) for rule in load_rules() for resource in rule.resources for verb in rule.verbs}
    used = {(call["verb"], call["resource"]) for call in calls}
    stale = {key: why for key, why in NOT_EXERCISED.items() if key in used or key not in granted}
    assert not stale, f"NOT_EXERCISED entries that are used or no longer granted: {sorted(stale)}\n" + \
        _table([("", c) for c in calls])
