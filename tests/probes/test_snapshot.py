"""xpchaos.run.snapshot against a blueprint sandbox: what counts as a change, and that no credential leaks."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable

from kubernetes import client

from tests.probes.cluster import Cluster
from tests.support.waiting import wait_for
from xpchaos.run import snapshot

DEADLINE = 20.0
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "generation", "finalizers", "managedFields")


def test_unchanged_cluster_diffs_empty(cluster_for: Callable[..., Cluster]) -> None:
    c = cluster_for("blueprint")
    before = snapshot.take(c.target)  # its own client, from the target's kubeconfig and context
    after = snapshot.take(c.target, c.api)
    assert snapshot.diff(before, after) == []
    kinds = {k.split(" ")[0] for k in before.objects}
    assert {"ProviderConfig", "Secret"} <= kinds
    for name in ("aws", "azure"):
        pc = c.target.provider(name).provider_config
        assert snapshot.key(pc.kind, pc.group, pc.namespace, pc.name) in before.objects
        secret = c.target.provider(name).credentials
        assert snapshot.key("Secret", "", secret.namespace, secret.name) in before.objects
    pc = before.objects[snapshot.key("ProviderConfig", "aws.upbound.io", None, "aws-production")]
    assert "status" not in pc and "uid" not in pc["metadata"] and "resourceVersion" not in pc["metadata"]
    assert pc["metadata"]["finalizers"] == ["in-use.crossplane.io"] and pc["spec"]["credentials"]


def test_changed_secret_key_is_named_never_shown(cluster_for: Callable[..., Cluster]) -> None:
    c = cluster_for("blueprint")
    ref = c.target.provider("aws").credentials
    encoded = (c.core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key]
    value = base64.b64decode(encoded).decode()
    before = snapshot.take(c.target, c.api)
    restore = c.revoke_credentials()
    after = snapshot.take(c.target, c.api)
    lines = snapshot.diff(before, after)
    assert lines == [f"changed Secret  {ref.namespace}/{ref.name}: data.{ref.key}"]
    revoked = (c.core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key]
    for text in ("\n".join(lines), repr(before), repr(after), str(before.objects)):
        for secret in (encoded, value, revoked, base64.b64decode(revoked).decode()):
            assert secret not in text
        for line in value.splitlines()[1:]:  # the key id and the secret access key, each on its own
            assert line.split(" = ", 1)[1] not in text
    restore()
    assert snapshot.diff(before, snapshot.take(c.target, c.api)) == []


def test_new_networkpolicy_is_added(cluster_for: Callable[..., Cluster]) -> None:
    c = cluster_for("blueprint")
    namespace = c.target.provider("aws").pods_namespace
    before = snapshot.take(c.target, c.api)
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "xpchaos-block-aws", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": {"pkg.crossplane.io/provider": "provider-aws-rds"}},
                     "policyTypes": ["Egress"], "egress": []}}
    networking = client.NetworkingV1Api(c.api)
    networking.create_namespaced_network_policy(namespace, body)
    assert snapshot.diff(before, snapshot.take(c.target, c.api)) == [
        f"added NetworkPolicy networking.k8s.io {namespace}/xpchaos-block-aws"]
    networking.delete_namespaced_network_policy("xpchaos-block-aws", namespace)
    assert snapshot.diff(before, snapshot.take(c.target, c.api)) == []


def test_recreated_providerconfig_diffs_empty_once_its_finalizer_is_back(cluster_for: Callable[..., Cluster]) -> None:
    c = cluster_for("blueprint")
    pc = c.target.provider("aws").provider_config
    custom = client.CustomObjectsApi(c.api)
    before = snapshot.take(c.target, c.api)
    original = custom.get_cluster_custom_object(pc.group, pc.version, pc.plural, pc.name)
    body = copy.deepcopy(original)
    for field in SERVER_FIELDS:
        body["metadata"].pop(field, None)
    body.pop("status", None)
    custom.delete_cluster_custom_object(pc.group, pc.version, pc.plural, pc.name)  # blocked: in use
    terminating = snapshot.diff(before, snapshot.take(c.target, c.api))
    assert terminating == [f"changed {snapshot.key(pc.kind, pc.group, None, pc.name)}: metadata.terminating"]
    custom.patch_cluster_custom_object(pc.group, pc.version, pc.plural, pc.name, {"metadata": {"finalizers": None}})
    gone = snapshot.diff(before, snapshot.take(c.target, c.api))
    assert gone == [f"removed {snapshot.key(pc.kind, pc.group, None, pc.name)}"]
    custom.create_cluster_custom_object(pc.group, pc.version, pc.plural, body)
    recreated = custom.get_cluster_custom_object(pc.group, pc.version, pc.plural, pc.name)
    assert recreated["metadata"]["uid"] != original["metadata"]["uid"]
    wait_for(lambda: snapshot.diff(before, snapshot.take(c.target, c.api)) == [], DEADLINE,
             what="the re-created ProviderConfig to match the snapshot (in-use finalizer back)")
