"""Any one rule of deploy/kubernetes/rbac.yaml removed: the command that needs it stops before it changes anything,
with one line naming the verb and the resource denied, and exit code 2.

A blueprint sandbox enforces RBAC with deploy/'s manifests applied: Crossplane v1 for the rules of ``*.upbound.io``
and the rest, v2 for those of ``*.m.upbound.io`` (the twins rendered for a platform's move to v2). For every rule of
every role, in turn: the rule is taken out of its role (as the admin), the command that needs it runs as the
ServiceAccount it is bound to, and the rule is put back. Which command needs a rule is read from the table it is
rendered from (``xpchaos.core.access.GRANTS``): a fault's experiment, ``xpchaos run`` for what every run observes, a
game day, a gate's scenarios, ``xpchaos discover`` or ``xpchaos preflight``. Nothing may change: every
ProviderConfig, credential Secret and NetworkPolicy keeps its resourceVersion, and no undo record is written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.support import rbac, sandboxes
from tests.support.commands import CHAOS
from tests.support.paths import EXPERIMENTS
from xpchaos.core import access
from xpchaos.core import target as targets
from xpchaos.run import rbac_manifest

XR = "xglobaldatabases.database.example.org/production-db"
# the fault each use of the table belongs to, and its experiment
EXPERIMENT_OF = {"delete-providerconfig": "delete-providerconfig", "block-provider-api": "block-provider-api",
                 "revoke-credentials": "revoke-credentials", "health-check": "fail-health-check"}


@dataclass(frozen=True)
class Removed:
    role_kind: str
    role_name: str
    namespace: str | None
    index: int
    rule: dict[str, Any]
    uses: frozenset[str]

    @property
    def generation(self) -> str:
        """The Crossplane generation whose sandbox needs the rule: v2 for ``*.m.upbound.io`` groups only."""
        groups = self.rule["apiGroups"]
        return "v2" if groups and all(g.endswith(".m.upbound.io") for g in groups) else "v1"

    @property
    def id(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        groups = ",".join(g or "core" for g in self.rule["apiGroups"])
        return f"{self.role_kind} {where}{self.role_name} #{self.index}: {','.join(self.rule['verbs'])} " \
               f"{','.join(self.rule['resources'])}.{groups}"


def _example_target() -> targets.Target:
    configmap = next(d for d in rbac.manifest_docs(["configmap-target.yaml"]) if d.get("kind") == "ConfigMap")
    return targets.parse(yaml.safe_load(configmap["data"]["target.yaml"]), Path("configmap"))


def _uses_of(rule: dict[str, Any], namespace: str | None) -> frozenset[str]:
    """The uses of the table's grants that render to ``rule``."""
    target = _example_target()
    found: set[str] = set()
    for grant in access.GRANTS:
        for rendered in rbac_manifest.rules(target, grant, namespace or ""):
            same = (list(rendered.groups) == rule["apiGroups"] and list(rendered.resources) == rule["resources"]
                    and list(rendered.verbs) == rule["verbs"]
                    and list(rendered.names) == (rule.get("resourceNames") or []))
            if same:
                found |= grant.uses
    return frozenset(found)


def _every_rule() -> list[Removed]:
    out = []
    for doc in rbac.manifest_docs(["rbac.yaml"]):
        if doc["kind"] in ("Role", "ClusterRole"):
            namespace = doc["metadata"].get("namespace")
            for index, rule in enumerate(doc["rules"]):
                out.append(Removed(doc["kind"], doc["metadata"]["name"], namespace, index, rule,
                                   _uses_of(rule, namespace)))
    return out


RULES = _every_rule()


@dataclass(frozen=True)
class Bed:
    box: sandboxes.Sandbox
    base: Path
    runner: Path
    reader: Path
    reader_kubeconfig: Path
    xr_namespace: str | None  # Crossplane v2's XRs are namespaced


def _bed(tmp_path_factory: pytest.TempPathFactory, generation: str) -> Iterator[Bed]:
    base = tmp_path_factory.mktemp(f"rule-removed-{generation}")
    with sandboxes.running(base / "sandbox", *sandboxes.fast("blueprint"), "--crossplane", generation) as box:
        assert box.target_path is not None
        rbac.apply_manifests(box)
        runner_config = rbac.account_kubeconfig(box, rbac.RUNNER, base / "runner.kubeconfig")
        reader_config = rbac.account_kubeconfig(box, rbac.READER, base / "reader.kubeconfig")
        yield Bed(box, base, rbac.target_through(box.target_path, base / "runner.yaml", runner_config),
                  rbac.target_through(box.target_path, base / "reader.yaml", reader_config), reader_config,
                  "production" if generation == "v2" else None)


@pytest.fixture(scope="module")
def bed_v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    yield from _bed(tmp_path_factory, "v1")


@pytest.fixture(scope="module")
def bed_v2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    yield from _bed(tmp_path_factory, "v2")


def _command(bed: Bed, removed: Removed, directory: Path) -> tuple[list[str], dict[str, str]]:
    """The command that needs ``removed`` (a run when any run uses it), and its environment."""
    python = [sys.executable, "-m", "xpchaos"]
    runner_env = rbac.clean_env(directory, XPCHAOS_TARGET=str(bed.runner))
    faults = [EXPERIMENT_OF[u] for u in sorted(removed.uses) if u in EXPERIMENT_OF]
    if faults:
        return [CHAOS, "--no-version-check", "run", "--journal-path", str(directory / "journal.json"),
                str(EXPERIMENTS / f"{faults[0]}.json")], runner_env
    if "observe" in removed.uses:
        return [*python, "run", str(EXPERIMENTS / "delete-providerconfig.json"), "--target", str(bed.runner)], \
            runner_env
    if "gameday" in removed.uses:
        suite = directory / "suite.yaml"
        directory.mkdir(parents=True, exist_ok=True)
        suite.write_text(f"kind: GameDay\nsteps:\n  - experiment: {EXPERIMENTS / 'revoke-credentials.json'}\n")
        return [*python, "gameday", str(suite), "--target", str(bed.runner), "--report-dir",
                str(directory / "reports")], runner_env
    if "scenarios" in removed.uses:
        return [*python, "gate", "--target", str(bed.runner), "--report-dir", str(directory / "reports")], runner_env
    if "discover" in removed.uses and "preflight" not in removed.uses:
        where = ["-n", bed.xr_namespace] if bed.xr_namespace else []
        return [*python, "discover", "--xr", XR, *where], \
            rbac.clean_env(directory, KUBECONFIG=str(bed.reader_kubeconfig))
    assert "preflight" in removed.uses, removed
    return [*python, "preflight", "--target", str(bed.reader)], rbac.clean_env(directory)


class _Roles:
    """Takes one rule out of a role of the sandbox, as its admin, and puts it back."""

    def __init__(self, kubeconfig: str) -> None:
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.rbac: Any = client.RbacAuthorizationV1Api(self.api)

    def _read(self, removed: Removed) -> Any:
        if removed.namespace:
            return self.rbac.read_namespaced_role(removed.role_name, removed.namespace)
        return self.rbac.read_cluster_role(removed.role_name)

    def _replace(self, removed: Removed, role: Any) -> None:
        if removed.namespace:
            self.rbac.replace_namespaced_role(removed.role_name, removed.namespace, role)
        else:
            self.rbac.replace_cluster_role(removed.role_name, role)

    def without(self, removed: Removed) -> Any:
        role = self._read(removed)
        kept = [r for i, r in enumerate(role.rules) if i != removed.index]
        assert len(kept) == len(role.rules) - 1
        original = list(role.rules)
        role.rules = kept
        self._replace(removed, role)
        return original

    def restore(self, removed: Removed, rules: Any) -> None:
        role = self._read(removed)
        role.rules = rules
        self._replace(removed, role)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("removed", RULES, ids=[r.id for r in RULES])
def test_the_command_that_needs_it_stops_in_one_line(request: pytest.FixtureRequest, removed: Removed,
                                                     tmp_path: Path) -> None:
    assert removed.uses, f"{removed.id}: no grant of the table renders this rule"
    bed: Bed = request.getfixturevalue(f"bed_{removed.generation}")
    before = bed.box.resource_versions()
    roles = _Roles(bed.box.kubeconfig)
    original = roles.without(removed)
    try:
        command, env = _command(bed, removed, tmp_path / "run")
        result = rbac.run(command, tmp_path / "run", env, 120)
    finally:
        roles.restore(removed, original)
        roles.api.close()
    said = [line for line in (result.stdout + result.stderr).splitlines() if "denied: " in line]
    assert result.returncode == 2 and len(said) == 1, (removed.id, result.returncode, result.stdout[-2000:],
                                                       result.stderr[-2000:])
    line = said[0]
    assert any(f" {verb} " in f" {line} " for verb in removed.rule["verbs"]), line
    assert any(resource in line for resource in removed.rule["resources"] if resource != "*") or \
        "database.example.org" in line, line
    assert bed.box.resource_versions() == before, f"{removed.id}: something changed"
    undo = tmp_path / "run" / "undo.jsonl"
    assert not undo.exists() or not undo.read_text().strip(), f"{removed.id}: an undo record was written"
