"""Units of the preflight: Go durations, label selectors, --poll in args, the poll verdict, RBAC reviews."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from xpchaos.core.target import parse
from xpchaos.run import preflight as pf

GO_DURATIONS = [("10m", 600.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("10s", 10.0), ("0", 0.0),
                ("1.5h", 5400.0), ("2h45m0.5s", 9900.5), ("-1m", -60.0), ("+5s", 5.0), ("300us", 0.0003),
                ("300µs", 0.0003), ("1ns", 1e-9), (".5s", 0.5), ("1.s", 1.0), ("1h0m0s", 3600.0)]


@pytest.mark.parametrize(("text", "seconds"), GO_DURATIONS)
def test_go_durations(text: str, seconds: float) -> None:
    assert pf.parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "1x", "10 m", "1m30", "1d", "s10", "--1s", "1m-30s", ".s", "1.2.3s"])
def test_not_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a Go duration"):
        pf.parse_go_duration(text)


@pytest.mark.parametrize(("selector", "names"), [
    ("pkg.crossplane.io/provider in (provider-aws-rds,provider-aws-route53)",
     ("provider-aws-rds", "provider-aws-route53")),
    ("pkg.crossplane.io/provider in ( provider-azure-sql )", ("provider-azure-sql",)),
    ("pkg.crossplane.io/provider=provider-aws-rds", ("provider-aws-rds",)),
    ("pkg.crossplane.io/provider == provider-aws-rds", ("provider-aws-rds",)),
    ("app=x, pkg.crossplane.io/provider in (a, b),!legacy", ("a", "b")),
    ("pkg.crossplane.io/provider notin (a)", ()),
    ("pkg.crossplane.io/provider!=a", ()),
    ("app.kubernetes.io/name=provider-aws", ()),
    ("pkg.crossplane.io/provider", ()),
    ("", ()),
])
def test_provider_names_from_selectors(selector: str, names: tuple[str, ...]) -> None:
    assert pf.provider_names(selector) == names


def test_selector_requirements() -> None:
    assert pf.parse_selector("a in (x,y),b!=z,c,!d,e=") == (
        pf.Requirement("a", "in", ("x", "y")), pf.Requirement("b", "!=", ("z",)), pf.Requirement("c", "exists"),
        pf.Requirement("d", "!"), pf.Requirement("e", "=", ("",)))


@pytest.mark.parametrize("selector", ["a in (x", "a in x)", "a in ()", "a in (x,,y)", "a=b=c", "a,,b", "a b",
                                      "=x", "a in (x) b"])
def test_bad_selectors(selector: str) -> None:
    with pytest.raises(ValueError, match="label selector"):
        pf.parse_selector(selector)


@pytest.mark.parametrize(("args", "value"), [
    (["--poll=10s"], "10s"), (["--debug", "--poll", "1m"], "1m"), (["--poll-state-metric=5s", "--sync=1h"], None),
    ([], None), (["--poll"], None), (["-poll=2m"], "2m")])
def test_poll_arg(args: list[str], value: str | None) -> None:
    assert pf.poll_arg(args) == value


def test_poll_verdicts() -> None:
    failing = pf.judge_poll("provider-aws", "10m", "--poll=10m in Deployment x", 90.0)
    assert failing.status == "fail"
    assert failing.message.startswith("provider-aws polls every 10m")
    assert ("a fault may stay invisible for up to 10 minutes, longer than the 90 s SLO "
            "(a provider notices a fault only at its next poll)" in failing.message)
    assert failing.fix == ("shorten --poll (e.g. 10s) with a DeploymentRuntimeConfig, or use a health-driven "
                           "composition function")
    assert pf.judge_poll("p", "45s", "s", 90.0).status == "warn"
    assert pf.judge_poll("p", "30s", "s", 90.0).status == "ok"
    assert pf.judge_poll("p", "10s", "s", 90.0).status == "ok"
    assumed = pf.judge_poll("p", pf.DEFAULT_POLL, "no --poll in 1 Deployment(s)", 90.0, assumed=True)
    assert assumed.status == "fail" and "assumed" in assumed.message
    assert pf.judge_poll("p", "ten", "s", 90.0).status == "fail"


def test_human_durations() -> None:
    assert [pf.human(s) for s in (600, 60, 90, 3600, 5400, 10)] == [
        "10 minutes", "1 minute", "1.5 minutes", "1 hour", "1.5 hours", "10 s"]


# RBAC, with a stand-in for the API (the sandbox allows everything) ------------------------------------------------
TARGET: dict[str, Any] = {
    "kind": "Target", "kubeconfig": "/k/config", "context": "prod", "allowedContexts": ["prod"],
    "composites": [{"apiVersion": "database.example.org/v1alpha1", "kind": "XGlobalDatabase",
                    "plural": "xglobaldatabases", "name": "db"}],
    "providers": {"aws": {
        "role": "primary",
        "providerConfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                           "plural": "providerconfigs", "name": "aws-production"},
        "credentials": {"secret": {"namespace": "crossplane-system", "name": "aws-creds", "key": "credentials"}},
        "pods": {"namespace": "crossplane-system", "selector": "pkg.crossplane.io/provider in (provider-aws-rds)"},
        "managedResources": [{"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Cluster", "plural": "clusters",
                              "name": "db-aurora"}]}},
}


class _Reviews:
    def __init__(self, deny: set[tuple[str, str]] | None = None, error: int | None = None) -> None:
        self.deny, self.error = deny or set(), error
        self.seen: list[Any] = []

    def __call__(self, _api: Any) -> _Reviews:
        return self

    def create_self_subject_access_review(self, review: Any, **_kw: Any) -> Any:
        if self.error:
            raise ApiException(status=self.error, reason="Not Found")
        attrs = review.spec.resource_attributes
        self.seen.append(attrs)
        allowed = (attrs.verb, attrs.resource) not in self.deny
        return SimpleNamespace(status=SimpleNamespace(allowed=allowed, reason="" if allowed else "RBAC: denied"))


def test_rbac_denials_name_the_can_i_command(monkeypatch: pytest.MonkeyPatch) -> None:
    reviews = _Reviews(deny={("patch", "secrets"), ("create", "leases")})
    monkeypatch.setattr(pf.client, "AuthorizationV1Api", reviews)
    found = pf.check_rbac(None, parse(TARGET, Path("t.yaml")))  # type: ignore[arg-type]
    assert [f.status for f in found] == ["fail", "fail"]
    assert found[0].fix.endswith("kubectl auth can-i patch secrets -n crossplane-system "
                                 "--kubeconfig /k/config --context prod")
    assert "kubectl auth can-i create leases.coordination.k8s.io -n " in found[1].fix
    wanted = pf.needed_access(None, parse(TARGET, Path("t")))  # type: ignore[arg-type]
    lease_namespace = next(a.namespace for a in wanted if a.resource == "leases")
    asked = {(a.verb, a.resource, a.group, a.namespace) for a in reviews.seen}
    for wanted in [("delete", "providerconfigs", "aws.upbound.io", None), ("get", "secrets", "", "crossplane-system"),
                   ("create", "networkpolicies", "networking.k8s.io", "crossplane-system"),
                   ("list", "pods", "", None),
                   ("watch", "xglobaldatabases", "database.example.org", None),
                   ("watch", "clusters", "rds.aws.upbound.io", None), ("watch", "events", "", None),
                   ("update", "leases", "coordination.k8s.io", lease_namespace)]:
        assert wanted in asked


def test_rbac_all_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pf.client, "AuthorizationV1Api", _Reviews())
    found = pf.check_rbac(None, parse(TARGET, Path("t.yaml")))  # type: ignore[arg-type]
    assert [(f.status, f.check) for f in found] == [("ok", "rbac")]


def test_rbac_without_reviews_api_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pf.client, "AuthorizationV1Api", _Reviews(error=404))
    found = pf.check_rbac(None, parse(TARGET, Path("t.yaml")))  # type: ignore[arg-type]
    assert len(found) == 1 and found[0].status == "warn" and "cannot check RBAC here" in found[0].message
