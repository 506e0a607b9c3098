"""Many composites, composed as Crossplane composes them: generated names ``<xr>-<5 characters>``, the composite and
claim labels, owner references to the XR, ``spec.resourceRefs`` (v1) or ``spec.crossplane.resourceRefs`` (v2),
claims bound both ways, each MR on one of several ProviderConfigs; and the ground truth (platform.json) says the
same as the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.sandbox.platform.platforms import Platform, platform_document
from tests.support.waiting import wait_for

GENERATED = re.compile(r"^(?P<xr>.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$")  # the API server's generateName alphabet
CLAIM_LABELS = ("crossplane.io/claim-name", "crossplane.io/claim-namespace")


def _check_composed(platform: Platform, composite: dict[str, Any], machinery: Callable[[dict[str, Any]], Any]
                    ) -> None:
    xr = platform.xr(composite["name"], composite["namespace"])
    assert xr["metadata"]["uid"] == composite["uid"]
    refs = machinery(xr)["resourceRefs"]
    assert sorted(r["name"] for r in refs) == sorted(m["name"] for m in composite["managedResources"])
    for ref in composite["managedResources"]:
        mr = platform.managed(ref)
        meta = mr["metadata"]
        assert GENERATED.match(meta["name"]).group("xr") == composite["name"]  # type: ignore[union-attr]
        assert meta["labels"]["crossplane.io/composite"] == composite["name"]
        owner = meta["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("XGlobalDatabase", composite["name"], xr["metadata"][
            "uid"])
        assert owner["controller"] is True and owner["blockOwnerDeletion"] is True
        assert mr["spec"]["providerConfigRef"]["name"] == ref["providerConfig"]["name"]
        assert meta.get("namespace") == composite["namespace"]
        claim = composite["claim"]
        if claim is None:
            assert not set(CLAIM_LABELS) & set(meta["labels"])
        else:
            assert [meta["labels"][k] for k in CLAIM_LABELS] == [claim["name"], claim["namespace"]]


def test_twenty_v1_xrs_compose_generated_names_with_labels_owners_and_refs(realistic: Platform) -> None:
    composites = realistic.truth["composites"]
    assert len(composites) == 20 and {c["namespace"] for c in composites} == {None}
    for composite in composites:
        _check_composed(realistic, composite, lambda xr: xr["spec"])
    names = [m["name"] for c in composites for m in c["managedResources"]]
    assert len(names) == len(set(names)) == 100


def test_each_xr_uses_one_of_two_aws_providerconfigs(realistic: Platform) -> None:
    used = {c["providerConfigs"]["aws"] for c in realistic.truth["composites"]}
    assert used == {"aws-prod", "aws-shared"}
    for config in ("aws-prod", "aws-shared"):
        for mr in realistic.mrs(config_name=config):
            assert realistic.managed(mr)["spec"]["providerConfigRef"] == {"name": config}


def test_claims_are_bound_to_their_xrs_both_ways(realistic: Platform) -> None:
    claimed = [c for c in realistic.truth["composites"] if c["claim"]]
    assert len(claimed) == 4
    assert {c["claim"]["namespace"] for c in claimed} == {"team-payments", "team-search"}
    for composite in claimed:
        claim_ref = composite["claim"]
        assert GENERATED.match(composite["name"]).group("xr") == claim_ref["name"]  # type: ignore[union-attr]
        claim = realistic.custom.get_namespaced_custom_object("database.example.org", "v1alpha1",
                                                              claim_ref["namespace"], "globaldatabases",
                                                              claim_ref["name"])
        assert claim["spec"]["resourceRef"] == {"apiVersion": "database.example.org/v1alpha1",
                                                "kind": "XGlobalDatabase", "name": composite["name"]}
        xr = realistic.xr(composite["name"])
        assert xr["spec"]["claimRef"] == {"apiVersion": "database.example.org/v1alpha1", "kind": "GlobalDatabase",
                                          "name": claim_ref["name"], "namespace": claim_ref["namespace"]}
        assert [xr["metadata"]["labels"][k] for k in CLAIM_LABELS] == [claim_ref["name"], claim_ref["namespace"]]
    rows = realistic.table("globaldatabases", "-A")
    assert sorted((r["NAMESPACE"], r["NAME"]) for r in rows) == sorted(
        (c["claim"]["namespace"], c["claim"]["name"]) for c in claimed)
    assert {(r["SYNCED"], r["READY"]) for r in rows} == {("True", "True")}  # the XR's conditions, propagated


def test_kubectl_get_xglobaldatabases_and_managed(realistic: Platform) -> None:
    rows = realistic.table("xglobaldatabases")
    assert sorted(r["NAME"] for r in rows) == sorted(c["name"] for c in realistic.truth["composites"])
    assert {(r["SYNCED"], r["READY"], r["COMPOSITION"]) for r in rows} == {
        ("True", "True", "global-database-aws-azure")}
    listed = realistic.kubectl("get", "managed", "-o", "name").stdout.split()
    expected = {f"{m['kind'].lower()}.{m['apiVersion'].split('/')[0]}/{m['name']}"
                for c in realistic.truth["composites"] for m in c["managedResources"]}
    assert set(listed) == expected


def test_each_xr_has_its_own_dns_record(realistic: Platform) -> None:
    records = [c["dns"] for c in realistic.truth["composites"]]
    assert len({r["name"] for r in records}) == 20 and len({r["primary"] for r in records}) == 20
    target = realistic.box.target
    assert [(d.name, d.primary[0]) for d in target.dns] == [(r["name"], r["primary"]) for r in records]


def test_v2_xrs_in_several_namespaces(write_platform: Callable[..., Path],
                                      start_platform: Callable[..., Platform]) -> None:
    doc = platform_document("v2-teams", crossplane={"version": "v2"}, composites=[
        {"namePrefix": "ledger", "count": 3, "namespaces": ["team-a", "team-b"]}])
    platform = start_platform(write_platform(doc))
    composites = platform.truth["composites"]
    assert [(c["name"], c["namespace"]) for c in composites] == [
        ("ledger-01", "team-a"), ("ledger-02", "team-b"), ("ledger-03", "team-a")]
    for composite in composites:
        _check_composed(platform, composite, lambda xr: xr["spec"]["crossplane"])
        for ref in composite["managedResources"]:
            assert ".m.upbound.io/" in ref["apiVersion"]
            assert platform.managed(ref)["spec"]["providerConfigRef"] == {"kind": "ClusterProviderConfig",
                                                                          "name": ref["providerConfig"]["name"]}
    wait_for(lambda: all(platform.synced(m) == "True" for m in platform.mrs()), 30, what="every v2 MR Synced")
    rows = platform.table("xglobaldatabases", "-n", "team-a")
    assert sorted(r["NAME"] for r in rows) == ["ledger-01", "ledger-03"]
