"""The Target loader: the sandbox's own target.yaml parses; a wrong file gets one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Sandbox
from xpchaos.core import target

MINIMAL = {
    "kind": "Target",
    "providers": {"aws": {
        "role": "primary",
        "providerConfig": {"apiVersion": "aws.upbound.io/v1beta1", "kind": "ProviderConfig",
                           "plural": "providerconfigs", "name": "aws-production"},
        "credentials": {"secret": {"namespace": "crossplane-system", "name": "aws-creds", "key": "credentials"}},
        "pods": {"namespace": "crossplane-system", "selector": "pkg.crossplane.io/provider=provider-aws"},
        "managedResources": [{"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Cluster", "plural": "clusters",
                              "name": "db"}],
    }},
    "dns": [{"name": "api.example.org", "nameservers": ["192.0.2.53", "[::1]:5353"], "primary": ["192.0.2.10"],
             "secondary": ["198.51.100.20"]}],
    "slos": {"dns_convergence": "1.5m"},
}


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "xpchaos.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_minimal_target(tmp_path: Path) -> None:
    loaded = target.load(write(tmp_path, MINIMAL))
    assert loaded.primary.name == "aws" and loaded.slos == {"dns_convergence": 90.0}
    assert loaded.dns[0].nameservers == (target.Nameserver("192.0.2.53", 53), target.Nameserver("::1", 5353))
    assert loaded.providers["aws"].managed[0].group == "rds.aws.upbound.io"


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("providers"), "providers: is required"),
    (lambda d: d["providers"]["aws"].pop("role"), "providers.aws.role: is required"),
    (lambda d: d["providers"]["aws"]["providerConfig"].update(name=""),
     "providers.aws.providerConfig.name: expected a non-empty str"),
    (lambda d: d["providers"]["aws"]["managedResources"][0].pop("plural"),
     "providers.aws.managedResources[0].plural: is required"),
    (lambda d: d["dns"][0].update(nameservers=["ns.example.org"]), "dns[0].nameservers: 'ns.example.org' is not IP"),
    (lambda d: d["slos"].update(dns_convergence="soon"), "slos.dns_convergence: 'soon' is not a duration"),
    (lambda d: d.update(kind="Experiment"), "kind: expected a document with kind: Target"),
])
def test_errors_name_the_field(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    mutate(doc)
    with pytest.raises(target.TargetError) as err:
        target.load(write(tmp_path, doc))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(target.TargetError, match="no such target file"):
        target.load(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("kind: [unclosed")
    with pytest.raises(target.TargetError, match="not valid YAML"):
        target.load(tmp_path / "bad.yaml")


def test_the_sandboxs_own_target_parses(own_sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox: Sandbox = own_sandbox("--profile", "blueprint", "--crossplane", "v2")
    loaded = target.load(sandbox.state_dir / "target.yaml")
    assert loaded.context == "xpchaos-sandbox" and loaded.composites[0].namespace == "production"
    assert loaded.provider("azure").provider_config.kind == "ClusterProviderConfig"
    with pytest.raises(target.TargetError, match="no provider 'gcp'"):
        loaded.provider("gcp")
