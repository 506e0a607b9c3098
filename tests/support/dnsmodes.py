"""A blueprint sandbox in one DNS mode (``--dns MODE``), as the DNS-mode tests see it: the official kubernetes client
on its kubeconfig, what its nameserver answers (dnspython, and dig), its ground truth, and the AWS credentials
revoked and restored through the Secret, as the revoke-credentials fault does."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
from kubernetes import client

from tests.support import bind9, sandboxes
from tests.support.waiting import wait_for
from xpchaos.core import kube

XR = ("database.example.org", "v1alpha1", "xglobaldatabases")
REVOKED = base64.b64encode(b"[default]\naws_access_key_id = AKIAREVOKEDBYXPCHAOS\naws_secret_access_key = x\n")


@dataclass
class ModeBox:
    sandbox: sandboxes.Sandbox
    api: client.ApiClient

    @property
    def core(self) -> Any:  # read as plain attributes; the typed models' Optionals do not help
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> Any:
        return client.CustomObjectsApi(self.api)

    @property
    def apps(self) -> Any:
        return client.AppsV1Api(self.api)

    @property
    def port(self) -> int:
        assert self.sandbox.dns is not None
        return int(self.sandbox.dns.rpartition(":")[2])

    @property
    def truth(self) -> dict[str, Any]:
        return dict(json.loads((self.sandbox.state_dir / "platform.json").read_text()))

    @property
    def composite(self) -> dict[str, Any]:
        """The first composite of the ground truth (the seed's production-db)."""
        return dict(self.truth["composites"][0])

    def dns_object(self, resource: str) -> dict[str, Any]:
        """The DNS object the composite composes as ``resource`` (its composition resource name)."""
        return dict(next(o for o in self.composite["dns"]["objects"] if o["resource"] == resource))

    def managed(self, resource: str) -> dict[str, Any]:
        """The managed resource the composite composes as ``resource``, as the ground truth names it."""
        return dict(next(m for m in self.composite["managedResources"] if m["resource"] == resource))

    # -- objects ---------------------------------------------------------------------------------------------
    def get(self, ref: dict[str, Any]) -> dict[str, Any]:
        group, version = ref["apiVersion"].split("/")
        plural = ref.get("plural") or f"{ref['kind'].lower()}s"
        if ref.get("namespace"):
            return dict(self.custom.get_namespaced_custom_object(group, version, ref["namespace"], plural,
                                                                 ref["name"]))
        return dict(self.custom.get_cluster_custom_object(group, version, plural, ref["name"]))

    def patch(self, ref: dict[str, Any], body: dict[str, Any]) -> None:
        group, version = ref["apiVersion"].split("/")
        plural = ref.get("plural") or f"{ref['kind'].lower()}s"
        if ref.get("namespace"):
            self.custom.patch_namespaced_custom_object(group, version, ref["namespace"], plural, ref["name"], body)
        else:
            self.custom.patch_cluster_custom_object(group, version, plural, ref["name"], body)

    def for_provider(self, ref: dict[str, Any]) -> dict[str, Any]:
        return dict(self.get(ref)["spec"].get("forProvider") or {})

    def xr(self) -> dict[str, Any]:
        return dict(self.custom.get_cluster_custom_object(*XR, self.composite["name"]))

    def serving(self) -> str:
        """The side the failover function says serves (``status.failover.activeProvider``)."""
        return str(((self.xr().get("status") or {}).get("failover") or {}).get("activeProvider", ""))

    def failures(self, name: str, reason: str = "CannotConnectToProvider") -> int:
        """How many times the provider failed on the cluster-scoped object ``name`` (its Events' counts)."""
        events = self.core.list_namespaced_event("default", field_selector=f"involvedObject.name={name}").items
        return sum(e.count or 1 for e in events if e.reason == reason)

    # -- DNS -------------------------------------------------------------------------------------------------
    def answer(self, name: str = "api.xpchaos.test") -> tuple[list[str], list[str]]:
        """What the nameserver answers for ``name`` A (dnspython, UDP): the CNAME targets on the way, the addresses."""
        response = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=self.port, timeout=2)
        cnames = [r.target.to_text() for rrset in response.answer if rrset.rdtype == dns.rdatatype.CNAME
                  for r in rrset]
        addresses = sorted(r.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for r in rrset)
        return cnames, addresses

    def addresses(self, name: str = "api.xpchaos.test") -> list[str]:
        return self.answer(name)[1]

    def dig_short(self, name: str = "api.xpchaos.test") -> list[str]:
        """``dig +short NAME A``, as the seed's own check asks."""
        return bind9.dig(self.port, "+short", name, "A").split()

    def wait_answer(self, address: str, timeout: float = 15, what: str = "") -> None:
        wait_for(lambda: self.addresses() == [address], timeout, what=what or f"DNS answering {address}")

    # -- the AWS credentials ---------------------------------------------------------------------------------
    def revoke_aws(self) -> str:
        """Replace the AWS credentials Secret's key with a well-formed invalid one; returns the original."""
        ref = self.sandbox.target.providers["aws"].credentials
        assert ref is not None
        original = str(self.core.read_namespaced_secret(ref.name, ref.namespace).data[ref.key])
        self.core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: REVOKED.decode()}})
        return original

    def restore_aws(self, original: str) -> None:
        ref = self.sandbox.target.providers["aws"].credentials
        assert ref is not None
        self.core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: original}})


@contextmanager
def blueprint(state_dir: Path, mode: str, *timings: str) -> Iterator[ModeBox]:
    """A seed blueprint sandbox with ``--dns MODE`` at the test timings (``timings`` override), steady."""
    with sandboxes.running(state_dir, *sandboxes.fast("blueprint", *timings), "--dns", mode) as box:
        box.wait_steady()
        api = kube.api_client(box.kubeconfig)
        try:
            yield ModeBox(box, api)
        finally:
            api.close()
