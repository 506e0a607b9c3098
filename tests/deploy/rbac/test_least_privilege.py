"""deploy/kubernetes/rbac.yaml, enforced: enough for every command, and nothing more.

One blueprint sandbox (fast test timings) enforces RBAC and records every API request in its audit log
(``--audit-log``; a request is recorded before it is authorized, so a refused one shows too). deploy/'s manifests
are applied, and the harness runs as the ServiceAccounts, with tokens from the TokenRequest API:

- ``xpchaos`` (the run identity): the three experiments under plain ``chaos run``, one ``xpchaos gameday`` and
  ``xpchaos preflight``;
- ``xpchaos-reader`` (read-only): ``xpchaos discover`` and ``xpchaos preflight``.

Then: every command exits as it should; every recorded call is allowed by a rule bound to the identity that made it
(zero denials); every verb x resource of every rule was used by some call, unless ``NOT_EXERCISED`` says why a passing
run cannot reach it; and the identities get nothing else. The simulated controllers run in-process and never reach
the HTTP API, so only the harness's own calls are in the log.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from tests.sandbox.rbac.identities import forbidden
from tests.support import rbac, sandboxes
from tests.support.commands import CHAOS
from tests.support.paths import EXPERIMENTS
from tests.support.runs import NAMES, RUN_TIMEOUT
from xpchaos.core import kube

PYTHON_CLIENT = kube.USER_AGENT  # every client xpchaos.core.kube makes names itself xpchaos/<version>
XR = "xglobaldatabases.database.example.org/production-db"

# Rules a passing run cannot reach, each verb x resource with the reason. Anything else in rbac.yaml that no call
# used is a privilege the harness does not need.
NOT_EXERCISED: dict[tuple[str, str], str] = {
    ("watch", "providerconfigs"): "actions/_common.wait_object watches only when its first get does not already show "
                                  "the state it waits for; on the sandbox each change has happened by then",
    ("list", "secrets"): "actions/credentials.py lists them only when the target's Secret is missing; "
                         "src/xpchaos/run/snapshot.py in Gherkin scenarios (`xpchaos gate`); the undo records kept "
                         "in the harness's namespace are listed by `xpchaos restore --target` only",
    ("list", "networkpolicies"): "src/xpchaos/run/snapshot.py only: Gherkin scenarios (`xpchaos gate`)",
    ("list", "serviceaccounts"): "src/xpchaos/run/snapshot.py only: Gherkin scenarios (`xpchaos gate`)",
    ("create", "secrets"): "in the providers' namespace: actions/credentials.py re-creates the Secret on rollback "
                           "of the delete-secret mode (XPCHAOS_REVOKE_MODE=delete-secret); the experiments use the "
                           "default mode (every fault creates its undo record's Secret in the harness's namespace)",
    ("delete", "secrets"): "in the providers' namespace: the delete-secret revoke mode "
                           "(XPCHAOS_REVOKE_MODE=delete-secret), not the default (each rollback deletes its undo "
                           "record's Secret in the harness's namespace)",
    ("update", "leases"): "src/xpchaos/core/lease.py takes over an abandoned (expired) Lease; a single run "
                          "never finds one",
    ("patch", "leases"): "src/xpchaos/core/lease.py renews the Lease every 20 s (RENEW_EVERY); a fast run "
                         "ends sooner",
    ("list", "deploymentruntimeconfigs"): "preflight gets the DeploymentRuntimeConfig a Provider names; it lists "
                                          "none (get and list share the rule with providers)",
    ("get", "providers"): "preflight reads a Provider and its DeploymentRuntimeConfig only when neither its "
                          "Deployments nor its pods show --poll; the sandbox's Deployments do",
    ("get", "deploymentruntimeconfigs"): "preflight, as above",
    ("list", "providerrevisions"): "actions/blast_radius.py, which the timeline control asks only for a target "
                                   "with two or more composites (the seed has one; the realistic platform's runs "
                                   "use it)",
    ("list", "clusterproviderconfigs"): "Crossplane v2 only; the sandbox here runs v1",
    ("list", "secretstores"): "preflight lists the External Secrets stores only where ExternalSecrets exist; the "
                              "sandbox here has none (tests/run/preflight/test_loops.py has them)",
    ("list", "clustersecretstores"): "preflight, as above",
    ("get", "dnsendpoints"): "preflight reads the DNSEndpoints a composite composes only with ExternalDNS wiring; the "
                             "sandbox here moves DNS with its failover function",
}


@dataclass
class Recording:
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # run -> the harness's calls
    outcomes: dict[str, tuple[int, str]] = field(default_factory=dict)  # run -> (exit code, output tail)
    accounts: dict[str, str] = field(default_factory=dict)  # run -> the ServiceAccount it ran as
    stdout: dict[str, str] = field(default_factory=dict)  # run -> its whole standard output

    def all_calls(self) -> list[tuple[str, dict[str, Any]]]:
        return [(run, call) for run, calls in self.calls.items() for call in calls]


def _table(calls: list[tuple[str, dict[str, Any]]]) -> str:
    counts = Counter((c["verb"], c["apiGroup"] or "core", c["resource"] + (f"/{c['subresource']}"
                      if c.get("subresource") else ""), c.get("namespace") or "-") for _, c in calls)
    lines = [f"  {'verb':<17} {'group':<24} {'resource':<26} {'namespace':<18} count"]
    lines += [f"  {v:<17} {g:<24} {r:<26} {n:<18} {count}" for (v, g, r, n), count in sorted(counts.items())]
    return "\n".join(lines)


@dataclass(frozen=True)
class Identities:
    box: sandboxes.Sandbox
    base: Path
    runner: Path  # the sandbox's target, reached as xpchaos/xpchaos
    reader: Path  # ... as xpchaos/xpchaos-reader
    reader_kubeconfig: Path
    runner_kubeconfig: Path


@pytest.fixture(scope="module")
def identities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identities]:
    base = tmp_path_factory.mktemp("least-privilege")
    audit = base / "audit.jsonl"
    with sandboxes.running(base / "sandbox", *sandboxes.fast("blueprint"), "--audit-log", str(audit)) as box:
        assert box.target_path is not None
        rbac.apply_manifests(box)
        runner_config = rbac.account_kubeconfig(box, rbac.RUNNER, base / "runner.kubeconfig")
        reader_config = rbac.account_kubeconfig(box, rbac.READER, base / "reader.kubeconfig")
        yield Identities(box, base, rbac.target_through(box.target_path, base / "runner.yaml", runner_config),
                         rbac.target_through(box.target_path, base / "reader.yaml", reader_config), reader_config,
                         runner_config)


@pytest.fixture(scope="module")
def recording(identities: Identities) -> Recording:
    audit = identities.base / "audit.jsonl"
    found = Recording()
    base, box = identities.base, identities.box

    def record(label: str, who: str, command: list[str], env: dict[str, str], timeout: float) -> None:
        box.wait_steady()  # as the admin, before the mark: not counted
        start = len(audit.read_text().splitlines())
        result = rbac.run(command, base / label, env, timeout)
        # the process has exited: each of its requests was recorded when the server received it
        found.calls[label] = [json.loads(line) for line in audit.read_text().splitlines()[start:]]
        found.outcomes[label] = (result.returncode, f"{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
        found.accounts[label] = who
        found.stdout[label] = result.stdout

    runner_env = {"XPCHAOS_TARGET": str(identities.runner)}
    for name in NAMES:
        directory = base / name
        record(name, rbac.RUNNER, [CHAOS, "--no-version-check", "run", "--journal-path",
                                   str(directory / "journal.json"), str(EXPERIMENTS / f"{name}.json")],
               rbac.clean_env(directory, **runner_env), RUN_TIMEOUT)
    suite = base / "suite.yaml"
    suite.write_text(f"kind: GameDay\nsteps:\n  - experiment: {EXPERIMENTS / 'revoke-credentials.json'}\n")
    record("gameday", rbac.RUNNER, [sys.executable, "-m", "xpchaos", "gameday", str(suite), "--target",
                                    str(identities.runner), "--report-dir", str(base / "gameday-reports")],
           rbac.clean_env(base / "gameday"), 300)
    record("preflight as xpchaos", rbac.RUNNER, [sys.executable, "-m", "xpchaos", "preflight", "--target",
                                                 str(identities.runner), "-o", "json"],
           rbac.clean_env(base / "preflight-runner"), 120)
    record("preflight as xpchaos-reader", rbac.READER, [sys.executable, "-m", "xpchaos", "preflight", "--target",
                                                        str(identities.reader), "-o", "json"],
           rbac.clean_env(base / "preflight-reader"), 120)
    record("discover", rbac.READER, [sys.executable, "-m", "xpchaos", "discover", "--xr", XR, "--nameserver",
                                     str(box.dns), "-o", str(base / "discovered.yaml")],
           rbac.clean_env(base / "discover", KUBECONFIG=str(identities.reader_kubeconfig)), 120)
    return found


def _resource_calls(recording: Recording) -> list[tuple[str, dict[str, Any]]]:
    # Discovery and other non-resource URLs (/api, /apis, /apis/GROUP/VERSION, /version, /openapi/...) are left
    # out: a real cluster grants them to every authenticated identity (ClusterRole system:discovery, bound to
    # system:authenticated), so rbac.yaml need not and does not name them.
    return [(run, call) for run, call in recording.all_calls() if "nonResourceURL" not in call]


@pytest.mark.timeout(900)  # the first one starts the sandbox and runs every command
def test_each_command_exits_as_it_should(recording: Recording) -> None:
    expected = {**dict.fromkeys(NAMES, 0), "gameday": 0, "preflight as xpchaos": 0, "discover": 0,
                "preflight as xpchaos-reader": 1}  # the reader may not run the experiments: preflight says so
    codes = {label: code for label, (code, _) in recording.outcomes.items()}
    assert codes == expected, {label: why for label, (code, why) in recording.outcomes.items()
                               if code != expected[label]}
    findings = json.loads(recording.stdout["preflight as xpchaos-reader"])
    refused = [f["message"] for f in findings if f["status"] == "fail"]
    assert refused and all(f["check"] == "rbac" for f in findings if f["status"] == "fail"), findings
    assert any(m.startswith("denied: delete providerconfigs.aws.upbound.io") for m in refused), refused
    agents = Counter(call.get("userAgent") or "(none)" for _, call in recording.all_calls())
    # the harness talks through the official client; anything else (kubectl, the sandbox) would show here
    assert all(agent.startswith(PYTHON_CLIENT) for agent in agents), agents
    for label, calls in recording.calls.items():
        assert calls, f"{label}: no API call recorded"
        print(f"\n{label}: {len(calls)} calls\n" + _table([(label, c) for c in calls if "resource" in c]))


@pytest.mark.timeout(900)
def test_zero_denials(recording: Recording) -> None:
    """Every call each identity made is allowed by a rule bound to it: the API server refused nothing."""
    docs = rbac.manifest_docs()
    rules = {who: rbac.rules_of(docs, who) for who in (rbac.RUNNER, rbac.READER)}
    denied: Counter[str] = Counter()
    calls = _resource_calls(recording)
    for run, call in calls:
        if not any(rule.allows(call) for rule in rules[recording.accounts[run]]):
            denied[f"{call['verb']} {call['apiGroup'] or 'core'}/{call['resource']}"
                   f"{'/' + call['subresource'] if call.get('subresource') else ''}"
                   f" ns={call.get('namespace') or '-'} name={call.get('name') or '-'} in [{run}]"] += 1
    assert not denied, ("calls that no rule bound to their identity allows:\n"
                        + "\n".join(f"  {what} x{n}" for what, n in sorted(denied.items()))
                        + "\nall the harness's calls:\n" + _table(calls))


@pytest.mark.timeout(900)
def test_every_rule_is_used(recording: Recording) -> None:
    calls = [call for _, call in _resource_calls(recording)]
    unused = []
    for rule in rbac.rules_of(rbac.manifest_docs()):
        for resource in rule.resources:
            for verb in rule.verbs:
                narrowed = rbac.Rule(rule.origin, rule.namespace, rule.api_groups, (resource,), (verb,),
                                     rule.resource_names)
                if any(narrowed.allows(call) for call in calls) or (verb, resource) in NOT_EXERCISED:
                    continue
                if resource == "*" or any(g.endswith(".m.upbound.io") for g in rule.api_groups):
                    continue  # Crossplane v2's twins (the sandbox runs v1 here); any kind of the composites' group
                unused.append(f"  {rule.origin}: {verb} {resource} (apiGroups {list(rule.api_groups)})")
    assert not unused, ("rules of deploy/kubernetes/rbac.yaml that no command used (remove them from the table, "
                        "or add them to NOT_EXERCISED with the reason):\n" + "\n".join(unused)
                        + "\nall the harness's calls:\n" + _table([("", c) for c in calls]))


@pytest.mark.timeout(900)
def test_every_exemption_is_still_needed(recording: Recording) -> None:
    """An exemption that no rule needs is stale: every rule granting that verb was used (a verb granted in two
    namespaces may be used in one only), or rbac.yaml no longer grants it."""
    calls = [call for _, call in _resource_calls(recording)]
    unused: dict[tuple[str, str], bool] = {}  # (verb, resource) -> some rule granting it was not used
    for rule in rbac.rules_of(rbac.manifest_docs()):
        for resource in rule.resources:
            for verb in rule.verbs:
                narrowed = rbac.Rule(rule.origin, rule.namespace, rule.api_groups, (resource,), (verb,),
                                     rule.resource_names)
                used = any(narrowed.allows(call) for call in calls)
                unused[(verb, resource)] = unused.get((verb, resource), False) or not used
    stale = {key: why for key, why in NOT_EXERCISED.items() if not unused.get(key, False)}
    assert not stale, f"NOT_EXERCISED entries that are used or no longer granted: {sorted(stale)}\n" + \
        _table([("", c) for c in calls])


def _refuses_the_rest(kubeconfig: Path, who: str) -> None:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        core: Any = client.CoreV1Api(api)
        custom: Any = client.CustomObjectsApi(api)
        assert forbidden(lambda: core.list_namespaced_secret("default")).startswith(
            f'secrets is forbidden: User "{rbac.account(who)}" cannot list resource "secrets"')
        forbidden(lambda: core.read_namespaced_config_map("xpchaos-target", "xpchaos"))  # only the stop one
        forbidden(lambda: custom.patch_cluster_custom_object(
            "database.example.org", "v1alpha1", "xglobaldatabases", "production-db", {"spec": {}}))
        forbidden(lambda: core.replace_namespaced_secret("aws-creds", "crossplane-system", {"metadata": {}}))
        if who == rbac.READER:  # the reader changes nothing the runs change, and lists no Secret
            forbidden(lambda: custom.delete_cluster_custom_object("aws.upbound.io", "v1beta1", "providerconfigs",
                                                                  "default"))
            forbidden(lambda: core.list_namespaced_secret("crossplane-system"))
    finally:
        api.close()


def test_the_identities_get_nothing_else(identities: Identities) -> None:
    _refuses_the_rest(identities.runner_kubeconfig, rbac.RUNNER)
    _refuses_the_rest(identities.reader_kubeconfig, rbac.READER)
