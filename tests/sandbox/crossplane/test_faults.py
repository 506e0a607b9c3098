"""The three faults under both profiles, against the sequences docs/crossplane.md predicts.

The faults are made here by hand with the official client (the harness's own fault actions build on this);
everything is observed through watches (kubernetes client), kubectl and DNS queries.
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client

from tests.sandbox.crossplane.observer import Seen, condition_is
from tests.sandbox.crossplane.platform import Platform
from tests.support.network import free_port
from tests.support.waiting import wait_for

PRIMARY, SECONDARY = ["192.0.2.10"], ["198.51.100.20"]
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "generation", "finalizers", "managedFields")
DEADLINE = 20.0


def steady(p: Platform) -> None:
    """Every MR Synced and Ready, the XR Ready, DNS answering the primary."""
    names = [m["name"] for prov in p.target["providers"].values() for m in prov["managedResources"]]

    def healthy(seen: list[Seen]) -> bool:
        latest = {s.name: s for s in seen if s.kind != "events"}
        return all(n in latest and condition_is("Synced", "True")(latest[n]) and
                   condition_is("Ready", "True")(latest[n]) for n in names) and \
            "production-db" in latest and condition_is("Ready", "True")(latest["production-db"])

    p.observer.wait(healthy, DEADLINE, "every MR Synced/Ready and the XR Ready")
    assert p.dig()[0] == PRIMARY


def wait_dns(p: Platform, expected: list[str], what: str) -> float:
    """DNS has no push: ask the nameserver until it answers ``expected`` (deadline 20 s); when it did."""
    wait_for(lambda: p.dig()[0] == expected, DEADLINE, what=f"DNS answering {expected}: {what}")
    return time.monotonic()


# the faults: each returns its restore -----------------------------------------------------------------------
def delete_providerconfig(p: Platform) -> Callable[[], None]:
    """Delete: blocked by in-use protection (checked here), then forced by stripping the finalizer."""
    config = p.target["providers"]["aws"]["providerConfig"]
    (group, version), plural, name = config["apiVersion"].split("/"), config["plural"], config["name"]
    snapshot = p.custom.get_cluster_custom_object(group, version, plural, name)
    started = time.monotonic()
    p.custom.delete_cluster_custom_object(group, version, plural, name)
    blocked = p.observer.wait(lambda seen: p.observer.first(plural, name, condition_is(
        "Terminating", "True", "InUse"), started), DEADLINE, "ProviderConfig Terminating/InUse")
    assert blocked.obj["metadata"]["deletionTimestamp"] and blocked.obj["status"]["users"] == 4
    p.observer.wait(lambda seen: any(s.kind == "events" and s.obj["reason"] == "UsageAccounting" and
                                     s.obj["message"] == "Blocking deletion while usages still exist" and
                                     s.obj["involvedObject"]["name"] == name for s in seen), DEADLINE,
                    "Warning UsageAccounting")
    # blocked means nothing fails: over several polls no AWS MR leaves Synced=True
    with pytest.raises(AssertionError, match="timed out"):
        p.observer.wait(lambda seen: any(condition_is("Synced", "False")(s) for s in seen if s.at >= started
                                         and s.kind != "events"), 2.0, "an MR Synced=False while blocked")
    p.custom.patch_cluster_custom_object(group, version, plural, name, {"metadata": {"finalizers": None}})

    def restore() -> None:
        body = copy.deepcopy(snapshot)
        for key in SERVER_FIELDS:
            body["metadata"].pop(key, None)
        body.pop("status", None)
        p.custom.create_cluster_custom_object(group, version, plural, body)

    return restore


def block_provider_api(p: Platform) -> Callable[[], None]:
    pods = p.target["providers"]["aws"]["pods"]
    names = pods["selector"].split("(", 1)[1].rstrip(")").split(",")
    keep = p.target["egressKeep"]
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "xpchaos-block-aws", "namespace": pods["namespace"]},
              "spec": {"podSelector": {"matchExpressions": [{"key": "pkg.crossplane.io/provider", "operator": "In",
                                                             "values": names}]},
                       "policyTypes": ["Egress"],
                       "egress": [{"to": [{"ipBlock": {"cidr": k["cidr"]}}],
                                   "ports": [{"port": k["port"], "protocol": k["protocol"]}]} for k in keep]}}
    client.NetworkingV1Api(p.api).create_namespaced_network_policy(pods["namespace"], policy)
    return lambda: client.NetworkingV1Api(p.api).delete_namespaced_network_policy("xpchaos-block-aws",
                                                                                  pods["namespace"])


def revoke_credentials(p: Platform) -> Callable[[], None]:
    ref = p.target["providers"]["aws"]["credentials"]["secret"]
    secret = p.core.read_namespaced_secret(ref["name"], ref["namespace"])
    original = secret.data[ref["key"]]
    invalid = "[default]\naws_access_key_id = AKIAREVOKEDBYXPCHAOS\naws_secret_access_key = revoked\n"
    p.core.patch_namespaced_secret(ref["name"], ref["namespace"],
                                   {"data": {ref["key"]: base64.b64encode(invalid.encode()).decode()}})
    return lambda: p.core.patch_namespaced_secret(ref["name"], ref["namespace"], {"data": {ref["key"]: original}})


def delete_credentials_secret(p: Platform) -> Callable[[], None]:
    ref = p.target["providers"]["aws"]["credentials"]["secret"]
    secret = p.api.sanitize_for_serialization(p.core.read_namespaced_secret(ref["name"], ref["namespace"]))
    p.core.delete_namespaced_secret(ref["name"], ref["namespace"])

    def restore() -> None:
        for key in SERVER_FIELDS:
            secret["metadata"].pop(key, None)
        p.core.create_namespaced_secret(ref["namespace"], secret)

    return restore


@dataclass(frozen=True)
class Fault:
    inject: Callable[[Platform], Callable[[], None]]
    reason: str
    message: str

    def expected(self, crossplane: str) -> str:
        if crossplane == "v2":  # v2 MRs reference a ClusterProviderConfig in the .m. group
            return self.message.replace("ProviderConfig.aws.upbound.io", "ClusterProviderConfig.aws.m.upbound.io")
        return self.message


FAULTS = {
    "providerconfig-deleted": Fault(delete_providerconfig, "CannotConnectToProvider",
                                    'connect failed: cannot initialize the Terraform plugin SDK async external '
                                    'client: cannot get terraform setup: cannot get referenced ProviderConfig: '
                                    'ProviderConfig.aws.upbound.io "aws-production" not found'),
    "provider-api-blocked": Fault(block_provider_api, "CannotObserveExternalResource",
                                  "observe failed: cannot run refresh: refresh failed: dial tcp 203.0.113.10:443: "
                                  "i/o timeout"),
    "credentials-revoked": Fault(revoke_credentials, "CannotConnectToProvider",
                                 "api error InvalidClientTokenId: The security token included in the request is "
                                 "invalid."),
    "credentials-secret-deleted": Fault(delete_credentials_secret, "CannotConnectToProvider",
                                        'cannot get credentials secret: secrets "aws-creds" not found'),
}


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("profile", ["stock", "blueprint"])
@pytest.mark.parametrize("crossplane", ["v1", "v2"])
def test_fault_sequence(platform_for: Callable[..., Platform], crossplane: str, profile: str,
                        fault_name: str) -> None:
    p, fault = platform_for(profile, crossplane), FAULTS[fault_name]
    message = fault.expected(crossplane)
    steady(p)
    serial_before = p.dig()[1]
    aws = [m["name"] for m in p.managed("aws")]
    azure = [m["name"] for m in p.managed("azure")]
    aurora = next(m for m in p.managed("aws") if m["name"] == "production-db-aurora")
    events_namespace = aurora.get("namespace") or "default"  # events of cluster-scoped objects go to default
    waiter = p.kubectl("wait", "--for=condition=Synced=False", *p.kubectl_ref(aurora),
                       "--timeout=1s")  # not yet: proves the check can fail
    assert waiter.returncode != 0
    started = time.monotonic()
    restore = fault.inject(p)

    # every AWS MR: Synced=False/ReconcileError with the provider's message, Ready untouched
    def aws_errored(seen: list[Seen]) -> bool:
        return all(any(s.name == n and s.at >= started and _error(s, message) for s in seen) for n in aws)

    p.observer.wait(aws_errored, DEADLINE, f"every AWS MR Synced=False: {message}")
    for name in aws:
        assert all(condition_is("Ready", "True", "Available")(s) for s in p.observer.seen
                   if s.name == name and s.at >= started), f"{name} left Ready"
        p.observer.wait(lambda seen, n=name: any(s.kind == "events" and s.obj["reason"] == fault.reason and
                                                 s.obj["type"] == "Warning" and
                                                 s.obj["involvedObject"]["name"] == n and
                                                 s.obj["metadata"]["namespace"] == events_namespace
                                                 for s in seen),
                        DEADLINE, f"Warning {fault.reason} for {name}")
    kubectl_wait = p.kubectl("wait", "--for=condition=Synced=False", *p.kubectl_ref(aurora), "--timeout=10s")
    assert kubectl_wait.returncode == 0, kubectl_wait.stderr
    events = p.kubectl("get", "events", "-n", events_namespace, "--field-selector",
                       f"involvedObject.name=production-db-aurora,reason={fault.reason}", "-o", "name")
    assert events.returncode == 0 and events.stdout.strip(), events.stderr
    assert not any(s.name in azure and s.at >= started and condition_is("Synced", "False")(s)
                   for s in p.observer.seen), "an Azure MR failed"

    if profile == "blueprint":
        _assert_failover(p, started, to="azure", answer=SECONDARY)
    else:
        _assert_no_failover(p, started, serial_before)

    recovered_from = time.monotonic()
    restore()
    p.observer.wait(lambda seen: all(any(s.name == n and s.at >= recovered_from and
                                         condition_is("Synced", "True", "ReconcileSuccess")(s) for s in seen)
                                     for n in aws), DEADLINE, "every AWS MR Synced=True again")
    if profile == "blueprint":
        _assert_failover(p, recovered_from, to="aws", answer=PRIMARY)
    else:
        _assert_no_failover(p, recovered_from, serial_before)
    steady(p)


def _error(seen: Seen, message: str) -> bool:
    cond = seen.condition("Synced")
    return cond is not None and cond[0] == "False" and cond[1] == "ReconcileError" and message in cond[2]


def _assert_failover(p: Platform, since: float, to: str, answer: list[str]) -> None:
    went_down = p.observer.wait(lambda seen: p.observer.first("xglobaldatabases", "production-db",
                                                              condition_is("Ready", "False", "Creating"), since),
                                DEADLINE, "XR Ready=False while promoting")
    came_back = p.observer.wait(lambda seen: p.observer.first("xglobaldatabases", "production-db",
                                                              condition_is("Ready", "True", "Available"),
                                                              went_down.at), DEADLINE, "XR Ready=True again")
    switched = wait_dns(p, answer, f"after failover to {to}")
    assert went_down.at < came_back.at and switched - since < 90
    failover = came_back.obj["status"]["failover"]
    assert failover["activeProvider"] == to and failover["weights"][to] == 100
    for mr in p.managed(to):  # each watch has its own thread: the MR's event may trail the XR's, so wait for it
        p.observer.wait(lambda seen, n=mr["name"]: any(
            s.name == n and s.at >= since and (s.obj["metadata"].get("annotations") or {}).get(
                "database.example.org/role") == "serving" for s in seen), DEADLINE, f"{mr['name']} serving")


def _assert_no_failover(p: Platform, since: float, serial_before: int) -> None:
    """Stock: over the blueprint's whole failover time the XR stays Ready and DNS never changes."""
    with pytest.raises(AssertionError, match="timed out"):
        p.observer.wait(lambda seen: any(s.name == "production-db" and s.at >= since and
                                         not condition_is("Ready", "True")(s) for s in seen), 3.0,
                        "the XR leaving Ready")
    assert p.dig() == (PRIMARY, serial_before)


@pytest.mark.parametrize("crossplane", ["v1", "v2"])
def test_target_file_describes_the_sandbox(platform_for: Callable[..., Platform], crossplane: str) -> None:
    p = platform_for("stock", crossplane)
    target: dict[str, Any] = p.target
    assert target["kind"] == "Target" and target["context"] == "xpchaos-sandbox"
    assert target["dns"][0]["nameservers"] == [f"{p.nameserver[0]}:{p.nameserver[1]}"]
    assert target["providers"]["aws"]["providerConfig"]["name"] == "aws-production"
    assert target["providers"]["aws"]["providerConfig"]["kind"] == (
        "ProviderConfig" if crossplane == "v1" else "ClusterProviderConfig")
    assert target["composites"][0]["namespace"] == (None if crossplane == "v1" else "production")
    explained = p.kubectl("explain", "xglobaldatabases.spec.parameters")
    assert explained.returncode == 0 and "storageGB" in explained.stdout and "weighting" in explained.stdout
    listed = p.core.list_namespaced_pod("crossplane-system", label_selector=target["providers"]["aws"]["pods"][
        "selector"])
    assert sorted(pod.metadata.labels["pkg.crossplane.io/provider"] for pod in listed.items) == [
        "provider-aws-rds", "provider-aws-route53"]
    for provider in target["providers"].values():
        for mr in provider["managedResources"]:
            group, version = mr["apiVersion"].split("/")
            assert group.endswith(".m.upbound.io") == (crossplane == "v2")
            if mr["namespace"]:
                assert p.custom.get_namespaced_custom_object(group, version, mr["namespace"], mr["plural"],
                                                             mr["name"])
            else:
                assert p.custom.get_cluster_custom_object(group, version, mr["plural"], mr["name"])


def test_unreachable_dns_keeps_the_xr_unready_and_recovers(own_sandbox: Callable[..., Any], tmp_path: Any) -> None:
    """--dns-server pointing at nothing: the function reports it and retries; it never kills the controller."""
    from kubernetes import config as kube_config

    from xpchaos.sandbox.dns.rfc2136 import generate_tsig_key

    _, key_text = generate_tsig_key("nobody-key.")
    key_file = tmp_path / "nobody.key"
    key_file.write_text(key_text)
    port = free_port()  # nothing listens there
    sandbox = own_sandbox("--profile", "blueprint", "--speed", "fast", "--dns-server", f"127.0.0.1:{port}",
                          "--tsig-key", str(key_file))
    custom = client.CustomObjectsApi(kube_config.new_client_from_config(config_file=sandbox.kubeconfig))

    def ready_condition() -> dict[str, Any] | None:  # the XR's first status appears after the first reconcile
        xr = custom.get_cluster_custom_object("database.example.org", "v1alpha1", "xglobaldatabases", "production-db")
        return next((c for c in (xr.get("status") or {}).get("conditions", []) if c["type"] == "Ready"), None)

    ready = wait_for(ready_condition, DEADLINE, what="the XR's Ready condition")
    assert ready["status"] == "False" and "cannot update DNS" in ready["message"]
    log = (sandbox.state_dir / "sandbox.log").read_text()
    assert "controller composite stopped" not in log
