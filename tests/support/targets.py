"""Writing target files for tests: the minimal valid target, and edited copies of a sandbox's own target."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from xpchaos.core import target as targets_module

# the smallest target the loader accepts: one provider, one managed resource, one DNS record with two nameservers
MINIMAL: dict[str, Any] = {
    "kind": "Target",
    "allowedContexts": ["production"],  # required before any change: the kube contexts this target may change
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
UNANSWERED_ADDRESS = "203.0.113.254"  # TEST-NET-3: nobody answers there


def minimal() -> dict[str, Any]:
    """A copy of MINIMAL to change."""
    return copy.deepcopy(MINIMAL)


def write(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def edited(source: Path, out: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of the target file ``source`` changed by ``edit`` (the source stays as it is)."""
    doc = yaml.safe_load(source.read_text())
    edit(doc)
    return write(out, doc)


def kubeconfig_at(kubeconfig: Path | str, out: Path, server: str) -> Path:
    """A copy of ``kubeconfig`` whose clusters all point at ``server``."""
    doc = yaml.safe_load(Path(kubeconfig).read_text())
    for entry in doc["clusters"]:
        entry["cluster"]["server"] = server
    return write(out, doc)


def retarget(source: Path, out: Path, server: str) -> Path:
    """A copy of the target file ``source`` that reaches the same cluster entry at ``server`` (its kubeconfig beside
    it, ``OUT.kubeconfig``)."""
    doc = yaml.safe_load(source.read_text())
    kubeconfig = source.parent / doc["kubeconfig"]  # as the loader reads it: relative to the target file's folder
    doc["kubeconfig"] = str(kubeconfig_at(kubeconfig, out.with_suffix(".kubeconfig"), server))
    return write(out, doc)


def wrong_primary(source: Path, out: Path) -> Path:
    """A copy of ``source`` whose DNS primary is an address nobody answers: the baseline cannot hold."""
    return edited(source, out, lambda doc: doc["dns"][0].update(primary=[UNANSWERED_ADDRESS]))


def several_composites(path: Path, names: Iterable[str]) -> targets_module.Target:
    """A two-cloud target (aws primary, azure secondary, no managed resources listed) over the XGlobalDatabases
    ``names``, each with its DNS record ``NAME.example.org``; written to ``path`` and loaded."""
    names = list(names)
    doc = minimal()
    doc["providers"]["aws"]["managedResources"] = []
    doc["providers"]["azure"] = {
        "role": "secondary",
        "providerConfig": {"apiVersion": "azure.upbound.io/v1beta1", "kind": "ProviderConfig",
                           "plural": "providerconfigs", "name": "azure-production"},
        "credentials": {"secret": {"namespace": "crossplane-system", "name": "azure-creds", "key": "credentials"}},
        "pods": {"namespace": "crossplane-system", "selector": "pkg.crossplane.io/provider=provider-azure"},
        "managedResources": []}
    doc["composites"] = [{"apiVersion": "database.example.org/v1alpha1", "kind": "XGlobalDatabase",
                          "plural": "xglobaldatabases", "name": name} for name in names]
    record = doc["dns"][0]
    doc["dns"] = [{**record, "name": f"{name}.example.org"} for name in names]
    return targets_module.load(write(path, doc))

