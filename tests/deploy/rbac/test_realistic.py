"""``xpchaos rbac`` for the realistic platform, enforced: its IRSA side and generated names need more than the seed
(the workload identity broken and restored; the managed kinds a run resolves from the XRs, which the target does
not list), and the rendered roles grant it.

A realistic blueprint sandbox (20 XRs, AWS through IRSA, Azure through a Secret) records its API requests. The roles
``xpchaos rbac --target`` renders from the sandbox's own target are applied with deploy/'s namespace and
ServiceAccounts. As ``xpchaos``, ``chaos run`` of revoke-credentials (mode auto: the identity) and
delete-providerconfig pass (not block-provider-api: on this platform's post-DNAT CNI its keep-egress rule, written
by ClusterIP, cuts the provider off from the API server too, a known gap of the fault, not of RBAC); as
``xpchaos-reader``, ``xpchaos discover`` walks every composite. Every call is allowed by a rendered rule bound to
the identity that made it, and the identity rules were used.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import rbac, sandboxes
from tests.support.commands import CHAOS, xpchaos
from tests.support.paths import EXPERIMENTS
from tests.support.runs import RUN_TIMEOUT

XR_KIND = "xglobaldatabases.database.example.org"


@dataclass(frozen=True)
class Realistic:
    box: sandboxes.Sandbox
    base: Path
    docs: list[Any]  # the rendered RBAC, with deploy/'s namespace and ServiceAccounts
    runner: Path
    reader_kubeconfig: Path


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realistic]:
    base = tmp_path_factory.mktemp("rbac-realistic")
    with sandboxes.running(base / "sandbox", "--platform", "realistic", *sandboxes.fast("blueprint"),
                           "--audit-log", str(base / "audit.jsonl")) as box:
        assert box.target_path is not None
        box.wait_steady(timeout=90)
        # the harness's namespace (its ServiceAccounts, the bindings' subjects) is the target's Lease's: xpchaos
        deployed = rbac.target_through(box.target_path, base / "deployed.yaml", Path(box.kubeconfig))
        rendered = xpchaos("rbac", "--target", str(deployed))
        assert rendered.returncode == 0, rendered.stderr
        docs = [*rbac.manifest_docs(["00-namespace.yaml", "serviceaccount.yaml"]),
                *(d for d in yaml.safe_load_all(rendered.stdout) if d)]
        rbac.apply_manifests(box, docs)
        runner_config = rbac.account_kubeconfig(box, rbac.RUNNER, base / "runner.kubeconfig")
        reader_config = rbac.account_kubeconfig(box, rbac.READER, base / "reader.kubeconfig")
        yield Realistic(box, base, docs, rbac.target_through(box.target_path, base / "runner.yaml", runner_config),
                        reader_config)


def _recorded(realistic: Realistic, label: str, command: list[str], env: dict[str, str],
              timeout: float) -> list[dict[str, Any]]:
    audit = realistic.base / "audit.jsonl"
    realistic.box.wait_steady(timeout=90)
    start = len(audit.read_text().splitlines())
    result = rbac.run(command, realistic.base / label, env, timeout)
    assert result.returncode == 0, (label, result.stdout[-3000:], result.stderr[-3000:])
    calls = [json.loads(line) for line in audit.read_text().splitlines()[start:]]
    return [c for c in calls if "nonResourceURL" not in c]


def _denied(calls: list[dict[str, Any]], rules: list[rbac.Rule]) -> list[str]:
    return sorted({f"{c['verb']} {c['apiGroup'] or 'core'}/{c['resource']} ns={c.get('namespace') or '-'}"
                   for c in calls if not any(rule.allows(c) for rule in rules)})


@pytest.mark.timeout(600)
@pytest.mark.parametrize("experiment", ["revoke-credentials", "delete-providerconfig"])
def test_the_runs_pass_with_zero_denials(realistic: Realistic, experiment: str) -> None:
    directory = realistic.base / experiment
    calls = _recorded(realistic, experiment, [CHAOS, "--no-version-check", "run", "--journal-path",
                                              str(directory / "journal.json"), str(EXPERIMENTS / f"{experiment}.json")],
                      rbac.clean_env(directory, XPCHAOS_TARGET=str(realistic.runner)), RUN_TIMEOUT)
    assert not _denied(calls, rbac.rules_of(realistic.docs, rbac.RUNNER))
    used = {(c["verb"], c["resource"]) for c in calls}
    if experiment == "revoke-credentials":  # the IRSA side: its role broken and put back, its pods restarted
        assert {("patch", "serviceaccounts"), ("delete", "pods")} <= used, sorted(used)
    else:  # the blast radius over the family's kinds, resolved at run time from the XRs
        assert {("delete", "providerconfigs"), ("list", "customresourcedefinitions"),
                ("list", "providerconfigusages")} <= used, sorted(used)


@pytest.mark.timeout(300)
def test_discover_walks_the_platform_as_the_reader(realistic: Realistic) -> None:
    directory = realistic.base / "discover"
    calls = _recorded(realistic, "discover", [sys.executable, "-m", "xpchaos", "discover", "--kind", XR_KIND, "-l",
                                              "crossplane.io/composite", "-o", str(directory / "target.yaml")],
                      rbac.clean_env(directory, KUBECONFIG=str(realistic.reader_kubeconfig)), 120)
    assert not _denied(calls, rbac.rules_of(realistic.docs, rbac.READER))
    assert yaml.safe_load((directory / "target.yaml").read_text())["composites"]
