"""The health check fault (``xpchaos.actions.healthcheck``) on the sandbox's health-routed DNS, through the official
client and dnspython: on ``route53-failover`` it inverts the health check the PRIMARY record routes by, on
``traffic-manager`` it disables the serving endpoint; exactly that field changes, DNS moves to Azure, the provider's
``status.atProvider`` shows it (the first effect), and the rollback (or ``xpchaos restore --target`` after SIGKILL)
puts every object back byte for byte. Where DNS is not routed by health (function, provider, external-dns) nothing
changes (``test_healthcheck_refused``); a change the provider cannot apply reads fault-not-applied."""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import dnsmodes
from tests.support.commands import xpchaos
from tests.support.paths import EXPERIMENTS, ROOT
from tests.support.waiting import wait_for
from xpchaos.actions import healthcheck, restore
from xpchaos.actions._common import FaultError
from xpchaos.core.outcome import ActionOutcome
from xpchaos.core.undo_log import UNDO_ID
from xpchaos.run import plan

SERVER_SET = ("resourceVersion", "generation", "managedFields")


def _box(factory: pytest.TempPathFactory, mode: str) -> Iterator[dnsmodes.ModeBox]:
    with dnsmodes.blueprint(factory.mktemp(mode), mode) as box:
        yield box


@pytest.fixture(scope="module")
def r53(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    yield from _box(tmp_path_factory, "route53-failover")


@pytest.fixture(scope="module")
def tm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dnsmodes.ModeBox]:
    yield from _box(tmp_path_factory, "traffic-manager")


def _config(box: dnsmodes.ModeBox, tmp_path: Path) -> dict[str, str]:
    return {"xpchaos_target": str(box.sandbox.target_path), "xpchaos_undo_log": str(tmp_path / "undo.jsonl")}


def _objects(box: dnsmodes.ModeBox) -> dict[str, dict[str, Any]]:
    """Every managed resource the composite composes, by name."""
    return {m["name"]: box.get(m) for m in box.composite["managedResources"]}


def _written(box: dnsmodes.ModeBox) -> dict[str, Any]:
    """What a change would show: each composed resource's generation, spec and annotations, and the resourceVersion
    of the ProviderConfigs and the providers' Secrets and NetworkPolicies."""
    composed = {n: (o["metadata"].get("generation"), o["spec"], o["metadata"].get("annotations"))
                for n, o in _objects(box).items()}
    return {**composed, **box.sandbox.resource_versions()}


def _kept(obj: dict[str, Any]) -> dict[str, Any]:
    """What the fault and its rollback may touch: the object without status and the server-set fields."""
    meta = {k: v for k, v in obj["metadata"].items() if k not in SERVER_SET}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _only_changed(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """name -> the forProvider fields that differ (the marks aside); every other part must be as before."""
    changed = {}
    for name, old in before.items():
        new = after[name]
        new_meta = {k: v for k, v in _kept(new)["metadata"].items() if k != "annotations"}
        assert new_meta == {k: v for k, v in _kept(old)["metadata"].items() if k != "annotations"}, name
        old_spec, new_spec = old["spec"], new["spec"]
        assert {k: v for k, v in new_spec.items() if k != "forProvider"} == \
            {k: v for k, v in old_spec.items() if k != "forProvider"}, name
        fields = {k: new_spec["forProvider"].get(k) for k in set(old_spec["forProvider"]) | set(new_spec["forProvider"])
                  if old_spec["forProvider"].get(k, "<absent>") != new_spec["forProvider"].get(k, "<absent>")}
        if fields:
            changed[name] = fields
    return changed


def _leaks(box: dnsmodes.ModeBox, text: str) -> list[str]:
    """Record values (the service addresses) and credential bytes found in ``text``."""
    dns = box.composite["dns"]
    secret = box.sandbox.target.providers["aws"].credentials
    assert secret is not None
    key = base64.b64decode(box.core.read_namespaced_secret(secret.name, secret.namespace).data[secret.key]).decode()
    secrets = [line.partition("=")[2].strip() for line in key.splitlines() if "=" in line]
    return [value for value in (dns["primary"], dns["secondary"], *secrets) if value and value in text]


def _fault_and_restore(box: dnsmodes.ModeBox, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                       field: str, value: bool, changed: str) -> dict[str, Any]:
    config = _config(box, tmp_path)
    before = _objects(box)
    with caplog.at_level(logging.INFO, logger="xpchaos"):
        result = healthcheck.fail_health_check(configuration=config)
    assert result["outcome"] == ActionOutcome.APPLIED, result
    assert [o["name"] for o in result["objects"]] == [changed]
    assert _only_changed(before, _objects(box)) == {changed: {field: value}}
    # the first effect: the provider applied it, as its refresh reports
    assert result["effect"]["step"] == "applied" and result["effect"]["due_s"] <= 1.0, result["effect"]
    assert box.get(box.managed(changed.removeprefix("production-db-")))["status"]["atProvider"][field] is value
    marked = box.get(box.managed(changed.removeprefix("production-db-")))["metadata"]["annotations"]
    assert marked[UNDO_ID] == result["undo_ids"][0]
    box.wait_answer(box.composite["dns"]["secondary"], 10, "DNS answering Azure once the health check fails")
    assert _leaks(box, json.dumps(result, default=str) + caplog.text) == []

    restored = healthcheck.restore_health_check(configuration=config)
    assert restored["outcome"] == ActionOutcome.RESTORED, restored
    after = _objects(box)
    assert {n: _kept(o) for n, o in after.items()} == {n: _kept(o) for n, o in before.items()}
    box.wait_answer(box.composite["dns"]["primary"], 10, "DNS answering AWS again once restored")
    wait_for(lambda: {n: o.get("status", {}).get("atProvider") for n, o in _objects(box).items()} ==
             {n: o.get("status", {}).get("atProvider") for n, o in before.items()}, 10,
             what="every atProvider as before")
    again = healthcheck.restore_health_check(configuration=config)
    assert again["outcome"] == ActionOutcome.NOTHING_TO_DO
    return result


def test_a_fault_left_behind_is_refused_before_any_change(tm: dnsmodes.ModeBox, tmp_path: Path) -> None:
    """The AWS endpoint still disabled and marked by an earlier run: the Azure one would serve, and would be chosen;
    the fault refuses instead, changing nothing."""
    config = _config(tm, tmp_path)
    assert healthcheck.fail_health_check(configuration=config)["outcome"] == ActionOutcome.APPLIED
    try:
        before = {n: o["metadata"].get("generation") for n, o in _objects(tm).items()}
        with pytest.raises(FaultError, match=r"production-db-tm-aws' still carries a fault's marks .*nothing was "
                                             "changed"):
            healthcheck.fail_health_check(configuration=config)
        assert {n: o["metadata"].get("generation") for n, o in _objects(tm).items()} == before
    finally:
        assert healthcheck.restore_health_check(configuration=config)["outcome"] == ActionOutcome.RESTORED


def test_route53_inverts_the_primarys_health_check_and_the_rollback_puts_it_back(
        r53: dnsmodes.ModeBox, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    check = r53.managed("aws-health")
    planned = plan.make(EXPERIMENTS / "fail-health-check.json", r53.sandbox.target_path,
                        undo_log=tmp_path / "plan.jsonl")  # what a run would change, said before it
    fault = next(s for s in planned.steps if s.name == "fail-health-check")
    assert fault.would == [f"set spec.forProvider.invertHealthcheck: true on HealthCheck "
                           f"healthchecks.route53.aws.upbound.io '{check['name']}'"]
    assert "invertHealthcheck" not in r53.for_provider(check)  # absent before: absent after (not false)
    result = _fault_and_restore(r53, tmp_path, caplog, "invertHealthcheck", True, check["name"])
    assert result["wiring"] == {"production-db": "route53-failover"}
    assert "invertHealthcheck" not in r53.for_provider(check)


def test_traffic_manager_disables_the_serving_endpoint_and_the_rollback_puts_it_back(
        tm: dnsmodes.ModeBox, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    endpoint = tm.managed("tm-aws")
    assert tm.for_provider(endpoint)["enabled"] is True
    result = _fault_and_restore(tm, tmp_path, caplog, "enabled", False, endpoint["name"])
    assert result["wiring"] == {"production-db": "traffic-manager"}
    assert tm.answer()[0] == ["api-aws.xpchaos.test."]


def test_a_change_the_provider_cannot_apply_is_fault_not_applied(tm: dnsmodes.ModeBox, tmp_path: Path) -> None:
    """Azure's credentials broken: the endpoint's spec changes, but provider-azure-network applies nothing, so
    ``status.atProvider`` never shows it and DNS stays; the fault says so, with its question."""
    ref = tm.sandbox.target.providers["azure"].credentials
    assert ref is not None
    original = tm.core.read_namespaced_secret(ref.name, ref.namespace).data[ref.key]
    broken = base64.b64encode(json.dumps({"clientId": "revoked", "clientSecret": "revoked"}).encode()).decode()
    tm.core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: broken}})
    config = _config(tm, tmp_path)
    try:
        result = healthcheck.fail_health_check(configuration=config)
        assert result["outcome"] == ActionOutcome.NOT_APPLIED, result
        assert "the provider did not apply the change within 1s: was the MR's ProviderConfig working" in \
            result["reason"]
        assert tm.get(tm.managed("tm-aws"))["status"]["atProvider"]["enabled"] is True
        assert tm.answer()[0] == ["api-aws.xpchaos.test."]
    finally:
        tm.core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: original}})
        assert healthcheck.restore_health_check(configuration=config)["outcome"] == ActionOutcome.RESTORED
    wait_for(lambda: any(c["type"] == "Synced" and c["status"] == "True"
                         for c in tm.get(tm.managed("tm-aws"))["status"]["conditions"]), 10,
             what="the endpoint Synced again")


def test_sigkill_after_the_fault_then_restore_from_another_home_puts_it_back(r53: dnsmodes.ModeBox,
                                                                              tmp_path: Path) -> None:
    check = r53.managed("aws-health")
    r53.patch(check, {"spec": {"forProvider": {"invertHealthcheck": False}}})  # false, not absent: kept apart
    before = _kept(r53.get(check))
    env = {**os.environ, "XPCHAOS_UNDO_LOG": str(tmp_path / "run" / "undo.jsonl"), "HOME": str(tmp_path / "run")}
    code = ("import sys; from xpchaos.actions.healthcheck import fail_health_check; "
            f"print(fail_health_check(target={str(r53.sandbox.target_path)!r})['outcome'], flush=True); "
            "sys.stdin.read()")  # the run goes on until it is killed
    run = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                           env=env, cwd=ROOT)
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "applied"
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.wait(10)
    assert r53.for_provider(check).get("invertHealthcheck") is True
    elsewhere = {k: v for k, v in os.environ.items() if k not in ("XPCHAOS_UNDO_LOG", "XDG_STATE_HOME")}
    restore = xpchaos("restore", "--target", str(r53.sandbox.target_path), cwd=tmp_path,
                      env={**elsewhere, "HOME": str(tmp_path / "elsewhere")})
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "fail-health-check: restored-field" in restore.stdout
    assert _kept(r53.get(check)) == before and r53.for_provider(check)["invertHealthcheck"] is False
    r53.wait_answer(r53.composite["dns"]["primary"], 10, "DNS answering AWS again once restored")
    r53.patch(check, {"spec": {"forProvider": {"invertHealthcheck": None}}})


def test_a_primary_record_serving_the_other_provider_is_refused(r53: dnsmodes.ModeBox, tmp_path: Path) -> None:
    """Lost: Azure. Route53's PRIMARY record serves AWS: failing its check would move DNS to Azure, not away."""
    before = r53.get(r53.managed("aws-health"))["metadata"].get("generation")
    result = healthcheck.fail_health_check(provider="azure", configuration=_config(r53, tmp_path))
    assert result["outcome"] == ActionOutcome.NOT_APPLIED, result
    assert result["reason"] == ("DNS of production-db is served by aws already (its PRIMARY Route53 record), not by "
                                "azure: failing its health check would move it to azure; choose the provider it "
                                "serves")
    assert r53.get(r53.managed("aws-health"))["metadata"].get("generation") == before


def test_restore_names_a_marked_health_check_no_record_names(r53: dnsmodes.ModeBox) -> None:
    check = r53.managed("aws-health")
    had = r53.get(check)["metadata"].get("annotations")
    r53.patch(check, {"metadata": {"annotations": {UNDO_ID: "f" * 32}}})
    try:
        found = restore.unrecorded(r53.api, r53.sandbox.target, set())
    finally:
        r53.patch(check, {"metadata": {"annotations": None if had is None else {UNDO_ID: None}}})
    assert f"HealthCheck healthchecks.route53.aws.upbound.io '{check['name']}' (undo id ffffffffffff)" in found
