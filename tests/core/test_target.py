"""The Target loader: valid files load to the values they say; a wrong key or value is one line naming the file,
the field and the fix; the allowed-contexts guard refuses a target that does not say which contexts it may change."""

from __future__ import annotations

import copy
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from xpchaos.core import dns_wiring, durations, kube, target, target_model

ROOT = Path(__file__).resolve().parents[2]
MINIMAL: dict[str, Any] = {
    "kind": "Target",
    "allowedContexts": ["prod"],
    "providers": {"aws": {
        "role": "primary",
        "providerConfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                           "plural": "providerconfigs", "name": "aws-production"},
        "credentials": {"secret": {"namespace": "crossplane-system", "name": "aws-creds", "key": "credentials"}},
        "pods": {"namespace": "crossplane-system", "selector": "pkg.crossplane.io/provider=provider-aws"},
        "managedResources": [{"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Cluster", "plural": "clusters",
                              "name": "db"}],
    }},
    "dns": [{"name": "api.example.org", "nameservers": ["192.0.2.53", "[::1]:5353", "2001:db8::53"],
             "primary": ["192.0.2.10"], "secondary": ["198.51.100.20"]}],
    "slos": {"dns_convergence": "1m30s"},
}
Edit = Callable[[dict[str, Any]], object]


def write(tmp_path: Path, doc: object, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def refusal(tmp_path: Path, edit: Edit) -> str:
    doc = copy.deepcopy(MINIMAL)
    edit(doc)
    path = write(tmp_path, doc)
    with pytest.raises(target.TargetError) as err:
        target.load(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


def test_nameservers_by_hostname_and_the_wiring(tmp_path: Path) -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["dns"][0].update(nameservers=["ns1.example.org", "ns2.example.org.:5353", "localhost"],
                         wiring="traffic-manager")
    loaded = target.load(write(tmp_path, doc))
    assert loaded.dns[0].nameservers == (target.Nameserver("ns1.example.org", 53),
                                         target.Nameserver("ns2.example.org", 5353), target.Nameserver("localhost"))
    assert loaded.dns[0].wiring == "traffic-manager"
    assert typing.get_args(target_model.Wiring) == dns_wiring.WIRINGS  # the target says what dns_wiring tells


def test_a_minimal_target(tmp_path: Path) -> None:
    loaded = target.load(write(tmp_path, MINIMAL))
    assert loaded.primary.name == "aws" and loaded.slos == {"dns_convergence": 90.0}
    assert loaded.dns[0].nameservers == (target.Nameserver("192.0.2.53", 53), target.Nameserver("::1", 5353),
                                         target.Nameserver("2001:db8::53", 53))
    assert loaded.dns[0].wiring is None  # not known unless written
    assert loaded.providers["aws"].managed[0].group == "rds.aws.upbound.io"
    assert loaded.providers["aws"].credentials == target.SecretRef("crossplane-system", "aws-creds", "credentials")
    assert (loaded.name, loaded.path, loaded.allowed_contexts, loaded.allow_any_context) == \
        ("t", tmp_path / "t.yaml", ("prod",), False)
    assert (loaded.safety.emergency_stop_name, loaded.safety.max_unhealthy_xrs, loaded.signals) == \
        ("xpchaos-emergency-stop", 0, {})


def test_a_key_written_without_a_value_counts_as_not_written(tmp_path: Path) -> None:
    doc = {**MINIMAL, "kubeconfig": None, "safety": None, "egressKeep": None}
    loaded = target.load(write(tmp_path, doc))
    assert (loaded.kubeconfig, loaded.safety.lease_namespace, loaded.egress_keep) == (None, "default", ())


def test_the_keep_is_read_from_the_cluster_where_any_kubeadm_eks_gke_or_aks_publishes_it(tmp_path: Path) -> None:
    keep = target.load(write(tmp_path, MINIMAL)).egress_keep_from
    assert (keep.api_server.namespace, keep.api_server.service) == ("default", "kubernetes")
    assert (keep.dns.namespace, keep.dns.pod_selector, keep.dns.service, keep.dns.ports) == \
        ("kube-system", "k8s-app=kube-dns", "kube-dns", (53,))
    assert (keep.node_local_dns.mode, keep.node_local_dns.address) == ("auto", "169.254.20.10")
    written = {**MINIMAL, "egressKeepFrom": {"dns": {"podSelector": "k8s-app=coredns", "service": "coredns"},
                                             "nodeLocalDNS": {"mode": "off"}}}
    keep = target.load(write(tmp_path, written)).egress_keep_from
    assert (keep.dns.pod_selector, keep.dns.service, keep.dns.namespace, keep.node_local_dns.mode) == \
        ("k8s-app=coredns", "coredns", "kube-system", "off")


def test_the_deployed_target_loads_to_what_it_says() -> None:
    """deploy/kubernetes/configmap-target.yaml, as the CronJob's pod reads it."""
    manifest = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "configmap-target.yaml").read_text())
    loaded = target.parse(yaml.safe_load(manifest["data"]["target.yaml"]), Path("target.yaml"))
    assert (loaded.name, loaded.allowed_contexts, loaded.slos) == ("production", ("in-cluster",),
                                                                   {"dns_convergence": 90.0})
    assert [p.name for p in loaded.providers.values()] == ["aws", "azure"] and loaded.other("aws").name == "azure"
    assert loaded.provider("secondary").pods_selector == "pkg.crossplane.io/provider in (provider-azure-sql)"
    assert loaded.egress_keep[1] == target.EgressRule(cidr="10.96.0.10/32", port=53, protocol="UDP")
    assert (loaded.safety.lease_namespace, loaded.safety.lease_name, loaded.safety.emergency_stop_namespace) == \
        ("xpchaos", "", "xpchaos")


# -- one line: file, path, fix ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "message"), [
    # the typos the issue names: each one used to load, falling back to a default
    (lambda d: d.update(allowedContext=d.pop("allowedContexts")),
     "allowedContext: unknown key; did you mean 'allowedContexts'?"),
    (lambda d: d["providers"]["aws"].update(role="primry"), "providers.aws.role: 'primry' is not one of primary, "
                                                             "secondary"),
    (lambda d: d["slos"].update(dns_convergance=d["slos"].pop("dns_convergence")),
     "slos.dns_convergance: unknown key; did you mean 'dns_convergence'?"),
    (lambda d: d.update(owner="platform-team"), "owner: unknown key; the known keys are apiVersion, kind, metadata, "
                                                "kubeconfig, context, allowedContexts, allowAnyContext, composites"),
    (lambda d: d["providers"]["aws"]["pods"].update(selectr="x"), "providers.aws.pods.selectr: unknown key; "
                                                                   "did you mean 'selector'?"),
    (lambda d: d["dns"][0].update(TTL=30), "dns[0].TTL: unknown key; did you mean 'ttl'?"),
    (lambda d: d.update(signals={"xr_ready": {"conditon": "Ready"}}),
     "signals.xr_ready.conditon: unknown key; did you mean 'condition'?"),
    (lambda d: d.update(allowedContext=None), "allowedContext: unknown key; did you mean 'allowedContexts'?"),
    # the safety guard's own keys
    (lambda d: d.update(allowAnyContext=True), "allowAnyContext: true together with allowedContexts: keep one"),
    (lambda d: d.update(allowedContexts=[]), "allowedContexts: expected the kube contexts this target may change"),
    (lambda d: d.update(allowedContexts="prod"), "allowedContexts: expected a list, got 'prod'"),
    (lambda d: d.update(allowAnyContext="true"), "allowAnyContext: expected true or false, got 'true'"),
    # values
    (lambda d: d.pop("providers"), "providers: is required"),
    (lambda d: d.update(providers={}), "providers: at least one provider is required"),
    (lambda d: d["providers"]["aws"].pop("role"), "providers.aws.role: is required"),
    (lambda d: d["providers"]["aws"]["providerConfig"].update(name=""),
     "providers.aws.providerConfig.name: must not be empty"),
    (lambda d: d["providers"]["aws"]["providerConfig"].update(name="../x"),
     "providers.aws.providerConfig.name: '../x' is not a valid Kubernetes object name"),
    (lambda d: d["providers"]["aws"]["managedResources"][0].pop("plural"),
     "providers.aws.managedResources[0].plural: is required"),
    (lambda d: d["providers"].update({"AWS": d["providers"].pop("aws")}),
     "providers.AWS: 'AWS' is not a valid provider name (lower-case letters, digits and '-', as in aws or azure)"),
    (lambda d: d["dns"][0].update(nameservers=["ns_1.example.org"]),
     "dns[0].nameservers[0]: 'ns_1.example.org' is not IP[:PORT] or HOSTNAME[:PORT]"),
    (lambda d: d["dns"][0].update(wiring="route53"), "dns[0].wiring: 'route53' is not one of function, provider"),
    (lambda d: d["dns"][0].update(type="MX"), "dns[0].type: 'MX' is not one of A, AAAA, CNAME"),
    (lambda d: d["dns"][0].update(ttl=True), "dns[0].ttl: expected a whole number, got True"),
    (lambda d: d["slos"].update(dns_convergence="soon"), "slos.dns_convergence: 'soon' is not a duration "
                                                         "(e.g. 90s, 1m30s, 1.5m, 500ms)"),
    (lambda d: d.update(safety={"maxUnhealthyXRs": -1}), "safety.maxUnhealthyXRs: must be 0 or more, got -1"),
    (lambda d: d.update(apiVersion="xpchaos.io/v2"), "apiVersion: 'xpchaos.io/v2' is not one of xpchaos.io/v1alpha1"),
    (lambda d: d.update(kind="Experiment"), "kind: expected a document with kind: Target"),
    # where block-provider-api reads what it keeps
    (lambda d: d.update(egressKeep=[{"cidr": "10.0.0.1/32", "port": 443}], egressKeepFrom={"dns": {}}),
     "egressKeepFrom: given together with egressKeep: keep one"),
    (lambda d: d.update(egressKeepFrom={"nodeLocalDNS": {"mode": "yes"}}),
     "egressKeepFrom.nodeLocalDNS.mode: 'yes' is not one of auto, on, off"),
    (lambda d: d.update(egressKeepFrom={"nodeLocalDNS": {"address": "link-local"}}),
     "egressKeepFrom.nodeLocalDNS.address: 'link-local' is not an IP address"),
    (lambda d: d.update(egressKeepFrom={"dns": {"ports": [53, 70000]}}),
     "egressKeepFrom.dns.ports[1]: must be 65535 or less"),
    (lambda d: d.update(egressKeepFrom={"apiServer": {"namespace": "../default"}}),
     "egressKeepFrom.apiServer.namespace: '../default' is not a valid Kubernetes namespace"),
    (lambda d: d.update(egressKeepFrom={"dns": {"podSelctor": "k8s-app=coredns"}}),
     "egressKeepFrom.dns.podSelctor: unknown key; did you mean 'podSelector'?"),
])
def test_errors_name_the_field_and_the_fix(tmp_path: Path, edit: Edit, message: str) -> None:
    assert refusal(tmp_path, edit).startswith(message)


def test_several_problems_are_named_on_the_one_line(tmp_path: Path) -> None:
    found = refusal(tmp_path, lambda d: d["providers"].update(aws={"role": "primry", "managedResources": [],
                                                                   "cloudEndpoints": ["nowhere"]}))
    assert found == ("providers.aws.role: 'primry' is not one of primary, secondary; providers.aws.providerConfig: "
                     "is required; providers.aws.pods: is required (and 1 more)")


def test_credentials_are_optional_the_source_being_the_provider_configs(tmp_path: Path) -> None:
    for written in ({}, {"credentials": {}}, {"credentials": None}):
        doc = copy.deepcopy(MINIMAL)
        del doc["providers"]["aws"]["credentials"]
        doc["providers"]["aws"].update(written)
        assert target.load(write(tmp_path, doc)).providers["aws"].credentials is None, written
    assert refusal(tmp_path, lambda d: d["providers"]["aws"].update(credentials={"source": "IRSA"})).startswith(
        "providers.aws.credentials.source: unknown key")


def test_a_huge_value_is_quoted_only_by_its_first_characters(tmp_path: Path) -> None:
    found = refusal(tmp_path, lambda d: d.update(kubeconfig=["x" * 10_000], context="y" * 10_000 + "\n"))
    assert found == "kubeconfig: expected a string, got a list"
    found = refusal(tmp_path, lambda d: d["slos"].update(dns_convergence="9" * 10_000 + "x"))
    assert len(found) < 200 and found.endswith("... is not a duration (e.g. 90s, 1m30s, 1.5m, 500ms)")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(target.TargetError, match="no such target file"):
        target.load(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("kind: [unclosed")
    with pytest.raises(target.TargetError, match="not valid YAML"):
        target.load(tmp_path / "bad.yaml")


# -- durations: read once, into seconds ---------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90.0), ("1m30s", 90.0), ("1.5m", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("1h0m5s", 3605.0),
    ("90", 90.0), (90, 90.0), (0.25, 0.25), (" 45s ", 45.0), ("0s", 0.0)])
def test_durations(text: object, seconds: float) -> None:
    assert durations.seconds(text) == pytest.approx(seconds)
    assert target.parse_duration(text, "--slo") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "-90s", "1m30", "s", "", "1d", "90 s", "1.2.3s", True, None, [90]])
def test_not_durations(text: object) -> None:
    with pytest.raises(target.TargetError, match=r"^--slo: .* is not a duration \(e\.g\. 90s, 1m30s"):
        target.parse_duration(text, "--slo")


# -- the guard in front of every change: allowedContexts, or allowAnyContext: true -----------------------------
def _kubeconfig(tmp_path: Path, current: str) -> str:
    """A kubeconfig with two contexts; the guard reads only this file (no cluster is reached)."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": current,
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
           "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
           "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in ("prod", "staging")]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _guarded(tmp_path: Path, **changes: Any) -> target.Target:
    doc = {**copy.deepcopy(MINIMAL), "kubeconfig": _kubeconfig(tmp_path, "staging"), **changes}
    return target.load(write(tmp_path, {k: v for k, v in doc.items() if v is not None}))


def test_a_target_without_allowed_contexts_loads_but_may_change_nothing(tmp_path: Path) -> None:
    loaded = _guarded(tmp_path, allowedContexts=None)  # plan and preflight can still read it and say why
    with pytest.raises(kube.ContextNotAllowed) as refused:
        kube.check_context(loaded)
    assert str(refused.value) == (
        f"{tmp_path / 't.yaml'}: allowedContexts: missing; a target that can change a cluster must list the kube "
        "contexts it may use, e.g. allowedContexts: [staging] (or write allowAnyContext: true to allow every "
        "context); nothing was changed")
    with pytest.raises(kube.ContextNotAllowed):
        kube.client_for(loaded)  # every fault and rollback gets its client here


def test_allow_any_context_must_be_said_in_so_many_words(tmp_path: Path) -> None:
    kube.check_context(_guarded(tmp_path, allowedContexts=None, allowAnyContext=True))
    with pytest.raises(kube.ContextNotAllowed, match="allowedContexts: missing"):
        kube.check_context(_guarded(tmp_path, allowedContexts=None, allowAnyContext=False))


def test_the_context_must_be_one_the_target_allows(tmp_path: Path) -> None:
    kube.check_context(_guarded(tmp_path, allowedContexts=["staging"]))
    kube.check_context(_guarded(tmp_path, allowedContexts=["prod"], context="prod"))
    with pytest.raises(kube.ContextNotAllowed, match=r"kube context 'staging' is not in allowedContexts \(prod\)"):
        kube.check_context(_guarded(tmp_path, allowedContexts=["prod"]))


def test_the_sandboxs_own_target_parses(own_sandbox: Callable[..., Any]) -> None:
    sandbox = own_sandbox("--profile", "blueprint", "--crossplane", "v2")
    loaded = target.load(sandbox.state_dir / "target.yaml")
    assert loaded.context == "xpchaos-sandbox" and loaded.composites[0].namespace == "production"
    assert loaded.allowed_contexts == ("xpchaos-sandbox",)
    kube.check_context(loaded)
    assert loaded.provider("azure").provider_config.kind == "ClusterProviderConfig"
    assert loaded.signals["pc_deletion_blocked"]["finalizer"] == "in-use.crossplane.io"
    assert loaded.signals["mr_healthy"]["conditions"][0] == {"type": "Synced", "status": "True",
                                                             "reason": "ReconcileSuccess"}
    with pytest.raises(target.TargetError, match="no provider 'gcp'"):
        loaded.provider("gcp")


@pytest.mark.parametrize("written", ["kube/config", "./kube/config", "../elsewhere/config"])
def test_a_relative_kubeconfig_is_read_from_the_target_files_folder(tmp_path: Path, written: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "platform"
    folder.mkdir()
    path = write(folder, {**copy.deepcopy(MINIMAL), "kubeconfig": written})
    monkeypatch.chdir(tmp_path)  # another working directory must not change which file is meant
    assert target.load(path).kubeconfig == str((folder / written).resolve())


def test_an_absolute_or_home_kubeconfig_is_kept(tmp_path: Path) -> None:
    absolute = write(tmp_path, {**copy.deepcopy(MINIMAL), "kubeconfig": "/etc/kube/config"})
    home = write(tmp_path, {**copy.deepcopy(MINIMAL), "kubeconfig": "~/.kube/config"}, name="h.yaml")
    assert target.load(absolute).kubeconfig == "/etc/kube/config"
    assert target.load(home).kubeconfig == str(Path("~/.kube/config").expanduser())
