"""Sandboxes for the tests: real sandbox processes, reached like a real cluster through what they write.

Two ways to start one, both here:

- ``start(state_dir, *server_args)``: the server process itself (``python -m xpchaos.sandbox serve``, through
  ``xpchaos.run.sandbox_process``), which takes every server flag (``--audit-log``, ``--api-faults``, ...);
- ``up(state_dir, *options)``: ``xpchaos sandbox up --detach -o json``, the way a user starts one.

``running(...)`` is either one as a context manager that stops the sandbox afterwards; ``platform(...)`` a simulated
platform at the test timings (``fast(profile)`` gives its options), steady before the test starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import urllib3.exceptions
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.commands import xpchaos
from tests.support.waiting import wait_for
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.probes.failover import dns_answers_primary, xr_is_ready
from xpchaos.run import sandbox_process, snapshot

# shorter than the fast preset so each scenario takes seconds; still in the order the blueprint needs
TEST_TIMINGS = ("mr_poll=0.5", "backoff_min=0.2", "backoff_max=1", "xr_poll=0.25", "detection=1",
                "promotion=0.5", "failback=2", "dns_ttl=2")
# what a cluster or nameserver that is not answering (yet) raises: a wait for the steady state keeps asking
UNANSWERED = (ApiException, urllib3.exceptions.HTTPError, dns.exception.DNSException, OSError)


def fast(profile: str, *timings: str) -> list[str]:
    """``--profile PROFILE --speed fast`` and the test timings; ``timings`` (``NAME=SECONDS``) override single ones."""
    overridden = {t.partition("=")[0] for t in timings}
    args = ["--profile", profile, "--speed", "fast"]
    for timing in (*(t for t in TEST_TIMINGS if t.partition("=")[0] not in overridden), *timings):
        args += ["--timing", timing]
    return args


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox, as a client knows it: its API address, kubeconfig, nameserver and target file."""

    api: str
    kubeconfig: str
    state_dir: Path
    dns: str | None = None  # HOST:PORT of the nameserver the target file names
    target_path: Path | None = None  # None for --profile none
    profile: str = "none"

    @property
    def token(self) -> str:
        return str(yaml.safe_load(Path(self.kubeconfig).read_text())["users"][0]["user"]["token"])

    @property
    def ca_file(self) -> str:
        return str(self.state_dir / "ca.crt")

    @property
    def target(self) -> targets.Target:
        return targets.load(self._target_file())

    @property
    def configuration(self) -> dict[str, str]:
        """The Chaos Toolkit configuration that points the actions and probes at this sandbox."""
        return {"xpchaos_target": str(self._target_file())}

    def _target_file(self) -> Path:
        assert self.target_path is not None, f"the sandbox in {self.state_dir} has no target (--profile none)"
        return self.target_path

    def steady(self) -> bool:
        return xr_is_ready(configuration=self.configuration) and dns_answers_primary(configuration=self.configuration)

    def wait_steady(self, timeout: float = 60) -> None:
        """The baseline every run starts from: the XR Ready and every nameserver answering the primary."""
        wait_for(self.steady, timeout, what=f"the {self.profile} sandbox's XR Ready and DNS answering the primary",
                 retry_on=UNANSWERED)

    def snapshot(self) -> snapshot.Snapshot:
        return snapshot.take(self.target)

    def resource_versions(self) -> dict[str, str]:
        """resourceVersion of every object of the kinds the faults touch (ProviderConfigs, and the Secrets and
        NetworkPolicies of the providers' namespaces): unchanged means not even written to."""
        tgt = self.target
        api = kube.api_client(tgt.kubeconfig, tgt.context)
        try:
            core: Any = client.CoreV1Api(api)  # read as plain attributes; the typed models' Optionals do not help
            net: Any = client.NetworkingV1Api(api)
            custom: Any = client.CustomObjectsApi(api)
            out: dict[str, str] = {}
            for provider in tgt.providers.values():
                pc = provider.provider_config
                for item in custom.list_cluster_custom_object(pc.group, pc.version, pc.plural)["items"]:
                    out[f"{pc.kind}.{pc.group}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
                secrets_ns = provider.credentials.namespace if provider.credentials else provider.pods_namespace
                for secret in core.list_namespaced_secret(secrets_ns).items:
                    out[f"Secret {secret.metadata.namespace}/{secret.metadata.name}"] = \
                        secret.metadata.resource_version
                for policy in net.list_namespaced_network_policy(provider.pods_namespace).items:
                    out[f"NetworkPolicy {policy.metadata.namespace}/{policy.metadata.name}"] = \
                        policy.metadata.resource_version
            return out
        finally:
            api.close()


def _sandbox(state_dir: Path, api: str, kubeconfig: str, dns: str | None, target: str | None) -> Sandbox:
    info = sandbox_process.SandboxInfo(api, kubeconfig, dns, target, 0)
    profile = sandbox_process.running_options(info).get("profile", "none")
    return Sandbox(api, kubeconfig, state_dir, dns, Path(target) if target else None, profile)


def start(state_dir: Path, *server_args: str, timeout: float = 30) -> Sandbox:
    """A sandbox server process with these flags, ready (its port bound) when this returns."""
    info, _child = sandbox_process.start(state_dir, extra_args=list(server_args), timeout=timeout)
    return _sandbox(state_dir, info.api, info.kubeconfig, info.dns, info.target)


def stop(state_dir: Path) -> None:
    """Stop the sandbox of ``state_dir``, however it was started; harmless when none runs."""
    sandbox_process.stop(state_dir)


def up(state_dir: Path, *options: str) -> Sandbox:
    """``xpchaos sandbox up --detach -o json`` with these options, as a user starts one."""
    result = xpchaos("sandbox", "up", "--detach", "--output", "json", "--state-dir", str(state_dir), *options)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    return _sandbox(state_dir, doc["api"], doc["kubeconfig"], doc.get("dns"), doc.get("target"))


def down(state_dir: Path) -> None:
    """``xpchaos sandbox down``, as a user stops one."""
    result = xpchaos("sandbox", "down", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr


@contextmanager
def running(state_dir: Path, *args: str, cli: bool = False) -> Iterator[Sandbox]:
    """A sandbox for the ``with`` block: started with ``up`` (``cli=True``) or ``start``, stopped the same way."""
    box = up(state_dir, *args) if cli else start(state_dir, *args)
    try:
        yield box
    finally:
        if cli:
            down(state_dir)
        else:
            stop(state_dir)


@contextmanager
def platform(state_dir: Path, profile: str, *timings: str) -> Iterator[Sandbox]:
    """A simulated platform at the test timings, started with ``xpchaos sandbox up`` and steady when it is yielded
    (the XR Ready, DNS answering the primary); ``timings`` override single test timings."""
    with running(state_dir, *fast(profile, *timings), cli=True) as box:
        box.wait_steady()
        yield box


@contextmanager
def realistic(state_dir: Path, profile: str, *args: str) -> Iterator[Sandbox]:
    """The ``realistic`` platform (20 XRs, generated names, families) at the test timings, steady when yielded;
    ``args`` add server options (e.g. ``--primary azure``)."""
    with running(state_dir, "--platform", "realistic", *args, *fast(profile), cli=True) as box:
        box.wait_steady(timeout=90)
        yield box
