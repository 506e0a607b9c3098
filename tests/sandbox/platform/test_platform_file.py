"""A platform file is read strictly before anything starts: each mistake is refused in one line naming the file,
the field and the fix (the closest known key for a typo), exit code 2, no sandbox left running."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.platform.platforms import platform_document
from tests.support.commands import xpchaos
from xpchaos.run import sandbox_process


def _with(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``doc`` with ``value`` set at ``path`` (dotted; ``[n]`` indexes a list; ``=DELETE`` removes the key)."""
    doc = copy.deepcopy(doc)
    node: Any = doc
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value == "=DELETE":
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


BASE = platform_document("typo-check")
CASES = [
    ("a misspelt key", _with(BASE, "spec.clouds.aws.providerConfigs[0].credentails", {"source": "IRSA"}),
     "spec.clouds.aws.providerConfigs[0]: unknown key 'credentails'; did you mean 'credentials'?"),
    ("a misspelt top-level key", _with(BASE, "spec.composite", []), "spec: unknown key 'composite'; did you mean "
                                                                    "'composites'?"),
    ("an unknown CNI", _with(BASE, "spec.cluster.cni", "calico"), "spec.cluster.cni: 'calico': input should be "
                                                                   "'pre-dnat', 'post-dnat' or 'none'"),
    ("IRSA on Azure", _with(BASE, "spec.clouds.azure.providerConfigs[0].credentials", {"source": "IRSA"}),
     "spec.clouds.azure.providerConfigs[0].credentials.source: IRSA is AWS's; Azure takes Secret or "
     "OIDCWorkloadIdentity"),
    ("IRSA without the ServiceAccount's role", _with(BASE, "spec.clouds.aws.providerConfigs[0].credentials",
                                                     {"source": "IRSA"}),
     "IRSA needs spec.clouds.aws.serviceAccountRoleArn"),
    ("a field of another source", _with(BASE, "spec.clouds.aws.providerConfigs[0].credentials",
                                        {"source": "Secret", "roleArn": "arn:aws:iam::111122223333:role/x"}),
     "roleArn does not apply to source Secret (it takes: secretName)"),
    ("a malformed role ARN", _with(BASE, "spec.clouds.aws.serviceAccountRoleArn", "role/crossplane"),
     "spec.clouds.aws.serviceAccountRoleArn: 'role/crossplane' is not an IAM role ARN"),
    ("a ProviderConfig that does not exist", _with(BASE, "spec.composites[0].providerConfigs", {"aws": "aws-other"}),
     "spec.composites[0].providerConfigs.aws: no ProviderConfig 'aws-other' (known: aws-main)"),
    ("name and namePrefix", _with(BASE, "spec.composites[0].namePrefix", "db"),
     "spec.composites[0]: give either name (one composite) or namePrefix with count"),
    ("too many composites", _with(BASE, "spec.composites", [{"namePrefix": "db", "count": 201}]),
     "spec.composites[0].count: Input should be less than or equal to 200"),
    ("a missing section", _with(BASE, "spec.clouds", "=DELETE"), "spec.clouds: is required"),
    ("another kind", _with(BASE, "kind", "Target"), "kind: 'Target': input should be 'SandboxPlatform'"),
    ("claims on Crossplane v2", _with(_with(BASE, "spec.composites[0].claims", True), "spec.crossplane",
                                      {"version": "v2"}),
     "spec.composites[0].claims: Crossplane v2 has no claims"),
    ("an unknown DNS mode", _with(BASE, "spec.dns", {"mode": "route53"}),
     "spec.dns.mode: 'route53': input should be 'function', 'provider', 'route53-failover', 'external-dns' or "
     "'traffic-manager'"),
    ("a misspelt DNS key", _with(BASE, "spec.dns", {"mod": "provider"}),
     "spec.dns: unknown key 'mod'; did you mean 'mode'?"),
    ("NodeLocal DNS without endpoints", _with(BASE, "spec.cluster", {"endpoints": False, "nodeLocalDNS": True}),
     "spec.cluster: nodeLocalDNS needs endpoints: true"),
]


@pytest.mark.parametrize(("doc", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_platform_file_is_refused_in_one_line_before_anything_starts(
        write_platform: Callable[..., Path], tmp_path: Path, doc: dict[str, Any], expected: str) -> None:
    path = write_platform(doc)
    state_dir = tmp_path / "state"
    with pytest.raises(sandbox_process.SandboxError) as refused:
        sandbox_process.start(state_dir, extra_args=["--profile", "stock", "--platform", str(path)])
    message = str(refused.value)
    assert refused.value.exit_code == 2
    assert "\n" not in message
    assert message.startswith(f"cannot start: --platform {path}: ")
    assert expected in message, message
    assert not (state_dir / "kubeconfig").exists(), "the API server was started (and wrote its kubeconfig)"
    assert not (state_dir / "state.json").exists()


def test_the_cli_refuses_it_with_exit_code_2_and_one_line(write_platform: Callable[..., Path],
                                                          tmp_path: Path) -> None:
    path = write_platform(_with(BASE, "spec.noise", {"eventsPerSecnd": 200}))
    state_dir = tmp_path / "state"
    result = xpchaos("sandbox", "up", "--detach", "--platform", str(path), "--state-dir", str(state_dir))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "spec.noise: unknown key 'eventsPerSecnd'; did you mean 'eventsPerSecond'?" in lines[0]
    assert sandbox_process.read_state(state_dir) is None


@pytest.mark.parametrize(("content", "expected"), [
    ("spec: [unclosed", "not valid YAML at line 1"),
    ("- a list\n", "expected a mapping with apiVersion: xpchaos.io/v1alpha1 and kind: SandboxPlatform"),
])
def test_a_file_that_is_not_a_platform_is_refused(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(content)
    with pytest.raises(sandbox_process.SandboxError) as refused:
        sandbox_process.start(tmp_path / "state", extra_args=["--profile", "stock", "--platform", str(path)])
    assert refused.value.exit_code == 2 and expected in str(refused.value)


def test_a_missing_file_names_the_presets(tmp_path: Path) -> None:
    with pytest.raises(sandbox_process.SandboxError) as refused:
        sandbox_process.start(tmp_path / "state", extra_args=["--profile", "stock", "--platform", "realistc"])
    assert refused.value.exit_code == 2
    assert "--platform realistc: no such file (give seed, realistic or a SandboxPlatform YAML file)" in \
        str(refused.value)


def test_a_platform_needs_a_crossplane_profile(tmp_path: Path) -> None:
    with pytest.raises(sandbox_process.SandboxError) as refused:
        sandbox_process.start(tmp_path / "state", extra_args=["--profile", "none", "--platform", "realistic"])
    assert refused.value.exit_code == 2 and "needs --profile stock or blueprint" in str(refused.value)


def test_crossplane_option_and_file_must_agree(write_platform: Callable[..., Path], tmp_path: Path) -> None:
    path = write_platform(_with(BASE, "spec.crossplane", {"version": "v1"}))
    with pytest.raises(sandbox_process.SandboxError) as refused:
        sandbox_process.start(tmp_path / "state", extra_args=["--profile", "stock", "--platform", str(path),
                                                              "--crossplane", "v2"])
    assert "--crossplane v2 conflicts with the platform's spec.crossplane.version v1" in str(refused.value)


def test_dns_option_and_file_must_agree(write_platform: Callable[..., Path], tmp_path: Path) -> None:
    path = write_platform(_with(BASE, "spec.dns", {"mode": "external-dns"}))
    with pytest.raises(sandbox_process.SandboxError) as refused:
        sandbox_process.start(tmp_path / "state", extra_args=["--profile", "stock", "--platform", str(path),
                                                              "--dns", "provider"])
    assert refused.value.exit_code == 2
    assert "--dns provider conflicts with the platform's spec.dns.mode external-dns; drop one of them" in \
        str(refused.value)


def test_the_documented_example_starts_as_documented(tmp_path: Path, start_platform: Callable[..., Any]) -> None:
    readme = (Path(__file__).resolve().parents[3] / "sandbox" / "README.md").read_text()
    example = readme.split("### The platform file", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example)
    platform = start_platform(path)
    truth = platform.truth
    assert truth["platform"] == "payments" and truth["crossplane"]["namespace"] == "upbound-system"
    assert len(truth["composites"]) == 17 and sum(1 for c in truth["composites"] if c["claim"]) == 4
    sources = {pc["name"]: pc["credentials"]["source"] for pc in truth["providerConfigs"]}
    assert sources == {"aws-prod": "IRSA", "aws-shared": "IRSA", "aws-ci": "WebIdentity", "aws-legacy": "Secret",
                       "azure-production": "OIDCWorkloadIdentity"}
    checkout = next(c for c in truth["composites"] if c["name"] == "checkout-db")
    assert checkout["primary"] == "azure" and checkout["dns"]["name"] == "checkout.xpchaos.test"
    platform.wait_all_synced(platform.mrs(), "True")
