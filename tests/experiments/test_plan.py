"""``xpchaos plan`` lists exactly what a run would touch (the ProviderConfig, the NetworkPolicy, the Secret and its
key), in text and JSON, and touches nothing: same snapshot, same resourceVersions, no undo log."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes import client

from tests.support.commands import xpchaos
from tests.support.paths import EXPERIMENTS
from tests.support.runs import NAMES, Run
from tests.support.sandboxes import Sandbox
from xpchaos.core import kube
from xpchaos.core.target import Target
from xpchaos.run import snapshot

WOULD = {"delete-providerconfig": "delete ProviderConfig providerconfigs.aws.upbound.io '{name}'",
         "block-provider-api": "create NetworkPolicy {namespace}/{name}",
         "revoke-credentials": "replace Secret {namespace}/{name} key '{key}' with an invalid"}


def expected_objects(name: str, target: Target, provider: str = "primary") -> list[dict[str, Any]]:
    prov = target.provider(provider)
    if name == "delete-providerconfig":
        pc = prov.provider_config
        return [{"kind": "ProviderConfig", "apiVersion": pc.api_version, "name": pc.name}]
    if name == "block-provider-api":
        return [{"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1", "namespace": prov.pods_namespace,
                 "name": f"xpchaos-block-{prov.name}-api"}]
    creds = prov.credentials
    return [{"kind": "Secret", "apiVersion": "v1", "namespace": creds.namespace, "name": creds.name,
             "key": creds.key}]


def credential_values(box: Sandbox) -> list[str]:
    """Every credential as stored (base64) and decoded, and each secret-looking line of it."""
    tgt = box.target
    api = kube.api_client(tgt.kubeconfig, tgt.context)
    try:
        values = []
        for prov in tgt.providers.values():
            ref = prov.credentials
            core: Any = client.CoreV1Api(api)
            encoded = str(core.read_namespaced_secret(ref.name, ref.namespace).data[ref.key])
            decoded = base64.b64decode(encoded).decode()
            values += [encoded, decoded, *(line.split("=", 1)[1].strip() for line in decoded.splitlines()
                                           if "secret" in line.lower() and "=" in line)]
        return [v for v in values if len(v) >= 8]
    finally:
        api.close()


def plan(run: Run, box: Sandbox, *args: str) -> Any:
    return xpchaos("plan", *args, "--target", str(box.target_path), cwd=run.directory, env=run.env(box.target_path))


@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize("name", NAMES)
def test_plan_lists_the_objects_and_touches_nothing(name: str, output: str, blueprint: Sandbox, run_dir: Run) -> None:
    blueprint.wait_steady()
    before, versions = blueprint.snapshot(), blueprint.resource_versions()
    result = plan(run_dir, blueprint, str(EXPERIMENTS / f"{name}.json"), "-o", output)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    objects = expected_objects(name, blueprint.target)
    if output == "json":
        doc = json.loads(result.stdout)
        assert doc["touches"] == objects
        assert doc["context"] == "xpchaos-sandbox"
        assert doc["undo_log"] == str(run_dir.undo_log)
        changes = [s for s in doc["steps"] if not s["read_only"]]
        assert [(s["phase"], s["type"]) for s in changes] == [("method", "action"), ("rollbacks", "action")]
        assert all(s["objects"] == objects for s in changes)
        probes = [s["name"] for s in doc["steps"] if s["read_only"]]
        assert probes == ["xr-is-ready", "dns-answers-primary", "failover-completes"]
        assert {c["module"] for c in doc["controls"]} == {"xpchaos.controls.timeline", "xpchaos.run.notify",
                                                          "xpchaos.controls.safety"}
        # the seed's one XR is what every fault reaches, with the MRs the target lists for that provider
        [radius] = doc["blast_radius"]
        assert [c["name"] for c in radius["composites"]] == [c.name for c in blueprint.target.composites]
        assert {m["name"] for m in radius["managed"]} == {m.name for m in blueprint.target.provider("primary").managed}
        assert radius["unlisted"] == [] and doc["warnings"] == []
    else:
        out = result.stdout
        obj = objects[0]
        where = f"{obj['namespace']}/{obj['name']}" if "namespace" in obj else obj["name"]
        assert where in out
        if name == "revoke-credentials":
            assert f"key '{obj['key']}'" in out
        assert f"xpchaos-sandbox (kubeconfig {blueprint.target.kubeconfig})" in out
        assert WOULD[name].format(**obj) in out
        assert "nothing was changed" in out
        for probe in ("xr-is-ready", "dns-answers-primary", "failover-completes"):
            assert probe in out
        assert f"Blast radius of {name} on aws" in out and "XGlobalDatabase production-db" in out
        assert "warning:" not in out
    for value in credential_values(blueprint):
        assert value not in result.stdout, "a credential value is in the plan"
    assert snapshot.diff(before, blueprint.snapshot()) == []
    assert blueprint.resource_versions() == versions
    assert not run_dir.undo_log.exists()
    assert list(run_dir.directory.iterdir()) == [], "the plan wrote a file"


def test_plan_for_the_other_provider_leaves_an_existing_undo_log_alone(blueprint: Sandbox, run_dir: Run) -> None:
    run_dir.undo_log.write_text('{"id":"old","done":true,"at":1}\n')
    kept = run_dir.undo_log.stat()
    result = plan(run_dir, blueprint, str(EXPERIMENTS / "block-provider-api.json"), "--provider", "azure", "-o",
                  "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["touches"] == expected_objects("block-provider-api", blueprint.target, "azure")
    after = run_dir.undo_log.stat()
    assert (after.st_mtime_ns, after.st_size) == (kept.st_mtime_ns, kept.st_size)


def test_plan_refuses_an_action_it_cannot_ask(blueprint: Sandbox, run_dir: Run) -> None:
    doc = json.loads((EXPERIMENTS / "block-provider-api.json").read_text())
    doc["method"].insert(1, {"type": "action", "name": "scale", "provider": {
        "type": "python", "module": "chaosk8s.deployment.actions", "func": "scale_deployment",
        "arguments": {"name": "api", "replicas": 0}}})
    path = run_dir.directory / "mixed.json"
    path.write_text(json.dumps(doc))
    before = blueprint.resource_versions()
    result = plan(run_dir, blueprint, str(path))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "unknown action chaosk8s.deployment.actions.scale_deployment: cannot tell what it touches" in result.stderr
    assert blueprint.resource_versions() == before
    assert not run_dir.undo_log.exists()


def test_plan_of_an_unknown_provider_exits_2(blueprint: Sandbox, run_dir: Run) -> None:
    result = plan(run_dir, blueprint, str(EXPERIMENTS / "revoke-credentials.json"), "--provider", "gcp")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "no provider 'gcp'" in result.stderr
