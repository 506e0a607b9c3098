"""The provider pods and Deployments carry the ``--poll`` the simulation really uses, where a real cluster shows it.

Stock Crossplane at real speed keeps upjet's default ten-minute poll (docs/crossplane.md, 'Detection latency': it
cannot fail over in 90 s); the blueprint at real speed polls every 10 s; ``--timing mr_poll=N`` overrides both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.support.sandboxes import Sandbox
from xpchaos.sandbox.crossplane.timings import go_duration, timings_for

NAMESPACE = "crossplane-system"
PROVIDERS = {"provider-aws-rds", "provider-aws-route53", "provider-azure-sql"}


@pytest.mark.parametrize(("seconds", "text"), [(600, "10m"), (10, "10s"), (0.5, "500ms"), (1, "1s"), (90, "1m30s"),
                                               (3600, "1h"), (0.25, "250ms"), (2.5, "2500ms")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_presets_per_profile_and_speed() -> None:
    assert timings_for("real", "stock").mr_poll == 600
    assert timings_for("real", "blueprint").mr_poll == 10
    assert timings_for("fast", "stock").mr_poll == timings_for("fast", "blueprint").mr_poll == 1
    assert timings_for("real", "stock", mr_poll=30.0).mr_poll == 30
    # only the poll differs: the rest of the real preset is the same for both profiles
    stock, blueprint = timings_for("real", "stock").as_dict(), timings_for("real", "blueprint").as_dict()
    assert {k for k in stock if stock[k] != blueprint[k]} == {"mr_poll"}


def _args(sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    api = config.new_client_from_config(config_file=sandbox.kubeconfig)
    try:
        deployments = client.AppsV1Api(api).list_namespaced_deployment(NAMESPACE).items
        pods = client.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items
        providers = client.CustomObjectsApi(api).list_cluster_custom_object("pkg.crossplane.io", "v1", "providers")
    finally:
        api.close()
    revisions = {p["metadata"]["name"]: p["status"]["currentRevision"] for p in providers["items"]}
    by_deployment = {}
    for deployment in deployments:
        name = deployment.metadata.labels["pkg.crossplane.io/provider"]
        assert deployment.metadata.name == revisions[name]  # named after the revision, as the package manager does
        assert deployment.status.available_replicas == 1
        by_deployment[name] = deployment.spec.template.spec.containers[0].args
    by_pod = {p.metadata.labels["pkg.crossplane.io/provider"]: p.spec.containers[0].args for p in pods}
    target = yaml.safe_load((sandbox.state_dir / "target.yaml").read_text())
    return by_deployment, by_pod, target["sandbox"]["timings"]


@pytest.mark.parametrize(("extra", "poll", "seconds"), [
    (("--profile", "stock", "--speed", "real"), "10m", 600),
    (("--profile", "blueprint", "--speed", "real"), "10s", 10),
    (("--profile", "stock", "--speed", "fast"), "1s", 1),
    (("--profile", "stock", "--speed", "real", "--timing", "mr_poll=0.5"), "500ms", 0.5),
    (("--profile", "blueprint", "--speed", "real", "--crossplane", "v2", "--timing", "mr_poll=45"), "45s", 45),
])
def test_pods_and_deployments_show_the_simulated_poll(own_sandbox: Callable[..., Sandbox], extra: tuple[str, ...],
                                                      poll: str, seconds: float) -> None:
    by_deployment, by_pod, timings = _args(own_sandbox(*extra))
    assert set(by_deployment) == set(by_pod) == PROVIDERS
    assert set(map(tuple, by_deployment.values())) == set(map(tuple, by_pod.values())) == {(f"--poll={poll}",)}
    assert timings["mr_poll"] == seconds
