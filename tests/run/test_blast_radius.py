"""The blast radius on the sandbox's ``realistic`` platform (20 XRs, 4 of them claimed, two AWS ProviderConfigs on
IRSA, the AWS provider family): what ``xpchaos plan`` lists for each experiment is what ``platform.json`` predicts,
XRs the target does not list are warned about, and the game day's stop condition counts only XRs outside it, tried
against a fault made by hand."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.paths import EXPERIMENTS
from tests.support.sandboxes import Sandbox
from tests.support.waiting import wait_for
from xpchaos.actions import providerconfig
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.run import blast_radius, stops

PROVIDER_LABEL = "pkg.crossplane.io/provider"


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The blueprint with a 20 s promotion: an XR that fails over stays not Ready long enough to look at it."""
    base = tmp_path_factory.mktemp("realistic")
    with sandboxes.running(base, "--platform", "realistic", *sandboxes.fast("blueprint", "promotion=20"),
                           cli=True) as box:
        box.wait_steady(timeout=90)
        yield box


def _truth(box: Sandbox) -> dict[str, Any]:
    return dict(json.loads((box.state_dir / "platform.json").read_text()))


def _crd(mr: dict[str, Any]) -> str:
    return f"{mr['plural']}.{mr['apiVersion'].split('/')[0]}"


def _selected_providers(box: Sandbox, provider: str) -> set[str]:
    prov = box.target.provider(provider)
    api = kube.api_client(box.target.kubeconfig, box.target.context)
    with api:
        pods = client.CoreV1Api(api).list_namespaced_pod(prov.pods_namespace, label_selector=prov.pods_selector).items
    return {p.metadata.labels[PROVIDER_LABEL] for p in pods}


def predicted(box: Sandbox, fault: str, provider: str) -> tuple[set[str], set[str]]:
    """(MR names, XR names) a fault on ``provider`` reaches, from platform.json: the MRs using the faulted
    ProviderConfigs, or for the network fault every MR of a kind the blocked providers serve."""
    truth = _truth(box)
    pc = box.target.provider(provider).provider_config.name
    pairs = [(xr, mr) for xr in truth["composites"] for mr in xr["managedResources"] if mr["cloud"] == provider]
    configs = {c["name"]: c for c in truth["providerConfigs"] if c["cloud"] == provider}
    faulted = {pc}
    if fault == "revoke-credentials":  # the same Secret, or IRSA: the pods' role, every IRSA config with it
        source = configs[pc]["credentials"]
        faulted |= {name for name, c in configs.items() if c["credentials"].get("secret") is not None
                    and c["credentials"].get("secret") == source.get("secret")}
        if source["source"] == "IRSA":
            faulted |= {name for name, c in configs.items() if c["credentials"]["source"] == "IRSA"}
    if fault == "block-provider-api":
        using = {_crd(mr) for _xr, mr in pairs if mr["providerConfig"]["name"] == pc} | {_crd(configs[pc])}
        serving = {p["name"] for p in truth["providers"] if set(p["crds"]) & using} | \
            _selected_providers(box, provider)
        kinds = {crd for p in truth["providers"] if p["name"] in serving for crd in p["crds"]}
        reached = [(xr, mr) for xr, mr in pairs if _crd(mr) in kinds]
    else:
        reached = [(xr, mr) for xr, mr in pairs if mr["providerConfig"]["name"] in faulted]
    return {mr["name"] for _xr, mr in reached}, {xr["name"] for xr, _mr in reached}


def plan(box: Sandbox, tmp_path: Path, experiment: str, *args: str, target: Path | None = None,
         env: dict[str, str] | None = None) -> Any:
    result = xpchaos("plan", str(EXPERIMENTS / f"{experiment}.json"), "--target", str(target or box.target_path),
                     *args, cwd=tmp_path, env={**os.environ, "XPCHAOS_UNDO_LOG": str(tmp_path / "undo.jsonl"),
                                               **(env or {})})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    return result


def partial_target(box: Sandbox, tmp_path: Path, names: set[str]) -> Path:
    """The sandbox's target listing only the composites (XRs, or claims by name) in ``names``."""
    doc = yaml.safe_load(Path(str(box.target_path)).read_text())
    doc["composites"] = [c for c in doc["composites"] if c["name"] in names]
    doc["dns"] = [d for d in doc["dns"] if d["name"].split(".")[0] in names]
    path = tmp_path / "partial.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(("experiment", "provider", "mode"), [
    ("delete-providerconfig", "aws", None), ("delete-providerconfig", "azure", None),
    ("block-provider-api", "aws", None), ("block-provider-api", "azure", None),
    ("revoke-credentials", "aws", "identity"), ("revoke-credentials", "azure", None)])
def test_the_plan_lists_the_blast_radius_platform_json_predicts(realistic: Sandbox, tmp_path: Path, experiment: str,
                                                                provider: str, mode: str | None) -> None:
    env = {"XPCHAOS_REVOKE_MODE": mode} if mode else {}
    doc = json.loads(plan(realistic, tmp_path, experiment, "--provider", provider, "-o", "json", env=env).stdout)
    [radius] = doc["blast_radius"]
    mrs, xrs = predicted(realistic, experiment, provider)
    assert radius["fault"] == experiment and radius["provider"] == provider
    assert {m["name"] for m in radius["managed"]} == mrs
    assert {c["name"] for c in radius["composites"]} == xrs
    assert sum(radius["counts"].values()) == len(mrs)
    claimed = {xr["name"]: f"{xr['claim']['namespace']}/{xr['claim']['name']}"
               for xr in _truth(realistic)["composites"] if xr["claim"] and xr["name"] in xrs}
    assert {c["name"]: c["claim"] for c in radius["composites"] if c["claim"]} == claimed
    assert radius["unlisted"] == [] and doc["warnings"] == []  # the sandbox's target lists every XR or its claim
    assert not (tmp_path / "undo.jsonl").exists()


def test_the_text_plan_counts_by_kind_and_names_every_xr(realistic: Sandbox, tmp_path: Path) -> None:
    out = plan(realistic, tmp_path, "block-provider-api").stdout
    mrs, xrs = predicted(realistic, "block-provider-api", "aws")
    section = out.split("Blast radius of block-provider-api on aws", 1)[1].split("Read-only", 1)[0]
    assert f"managed       {len(mrs)} (" in section
    assert f"XRs           {len(xrs)} (XGlobalDatabase {len(xrs)})" in section
    for name in xrs:
        assert f"XGlobalDatabase {name}" in section
    assert "provider-family-aws" in section  # the family's pods are blocked too


def test_the_plan_warns_about_xrs_the_target_does_not_list(realistic: Sandbox, tmp_path: Path) -> None:
    partial = partial_target(realistic, tmp_path, {"db-01", "orders-01"})
    _mrs, xrs = predicted(realistic, "delete-providerconfig", "aws")
    claimed = next(xr["name"] for xr in _truth(realistic)["composites"]
                   if (xr["claim"] or {}).get("name") == "orders-01")
    doc = json.loads(plan(realistic, tmp_path, "delete-providerconfig", "-o", "json", target=partial).stdout)
    [radius] = doc["blast_radius"]
    assert {c["name"] for c in radius["unlisted"]} == xrs - {"db-01", claimed}
    assert doc["warnings"] == [radius["warning"]]
    assert f"reaches {len(xrs - {'db-01', claimed})} XR(s) the target does not list" in radius["warning"]
    text = plan(realistic, tmp_path, "delete-providerconfig", target=partial).stdout
    assert "warning: delete-providerconfig on aws reaches" in text
    assert "XGlobalDatabase db-03 (not in the target)" in text
    assert f"XGlobalDatabase {claimed} (claim team-payments/orders-01)" in text


def test_the_stop_condition_counts_only_xrs_outside_the_blast_radius(realistic: Sandbox, tmp_path: Path) -> None:
    """The fault on aws-prod (made by hand) takes its XRs through their failover; the target lists one of them. The
    XRs it reaches are not counted however they are listed; those outside it are."""
    partial = partial_target(realistic, tmp_path, {"db-01"})
    target = targets.load(partial)
    configuration = {"xpchaos_target": str(partial), "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}
    api = kube.api_client(target.kubeconfig, target.context)
    radius = blast_radius.compute(api, target, "delete-providerconfig", target.provider("aws"))
    others = {c.name for c in radius.composites} - {"db-01"}
    custom: Any = client.CustomObjectsApi(api)

    def not_ready() -> set[str]:
        items = custom.list_cluster_custom_object("database.example.org", "v1alpha1", "xglobaldatabases")["items"]
        return {x["metadata"]["name"] for x in items if stops._not_ready(x)}

    assert stops.check(api, target, stops.Scope(api, target, [radius])) is None
    result = providerconfig.delete_provider_config("aws", force=True, configuration=configuration)
    try:
        assert result["outcome"] == "applied", result
        down = wait_for(lambda: not_ready() & others, 30, what="XRs of aws-prod other than db-01 not Ready")
        assert stops.check(api, target, stops.Scope(api, target, [radius])) is None
        assert not_ready() <= {c.name for c in radius.composites}, "the fault reached an XR outside its radius"
        # without the blast radius only the target's own XR is spared: the siblings would stop the game day
        assert set(down) & {x.rpartition("/")[2] for x in stops.unhealthy_outside(api, target)}
        # and XRs outside a radius are counted: for a fault that reaches nothing, every one of them
        assert stops.check(api, target, stops.Scope(api, target, [])) is not None
    finally:
        providerconfig.restore_provider_config("aws", configuration=configuration)
        realistic.wait_steady(timeout=90)
        api.close()
