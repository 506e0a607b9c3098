"""The built-in platforms of ``--platform``, as documents of the platform file's own schema.

``seed``: the platform the project started with (one XR ``production-db`` with fixed MR names, one ProviderConfig
and one credential Secret per cloud, one provider per service, ``crossplane-system``, NetworkPolicies matched
before Service translation, none of the cluster's own endpoints). ``realistic``: a management cluster as teams run
them (twenty XRs, four of them claimed, provider families on AWS with IRSA and two accounts, Azure with a Secret,
``upbound-system``, a CNI that matches egress after DNAT, NodeLocal DNS, three nodes, other teams' noise).
"""

from __future__ import annotations

from typing import Any

SEED: dict[str, Any] = {
    "apiVersion": "xpchaos.io/v1alpha1", "kind": "SandboxPlatform", "metadata": {"name": "seed"},
    "spec": {
        "crossplane": {"namespace": "crossplane-system"},
        "clouds": {
            "aws": {"providerConfigs": [{"name": "aws-production",
                                         "credentials": {"source": "Secret", "secretName": "aws-creds"}}]},
            "azure": {"providerConfigs": [{"name": "azure-production",
                                           "credentials": {"source": "Secret", "secretName": "azure-creds"}}]},
        },
        "composites": [{"name": "production-db", "resourceNames": "fixed", "dnsName": "api.xpchaos.test"}],
        "cluster": {"cni": "pre-dnat", "endpoints": False},
    },
}

REALISTIC: dict[str, Any] = {
    "apiVersion": "xpchaos.io/v1alpha1", "kind": "SandboxPlatform", "metadata": {"name": "realistic"},
    "spec": {
        "crossplane": {"version": "v1", "namespace": "upbound-system"},
        "clouds": {
            "aws": {
                "family": True,
                "serviceAccountRoleArn": "arn:aws:iam::111122223333:role/crossplane-provider-aws",
                "providerConfigs": [
                    {"name": "aws-prod", "credentials": {"source": "IRSA"}},
                    {"name": "aws-shared", "credentials": {
                        "source": "IRSA", "assumeRoleArn": "arn:aws:iam::444455556666:role/crossplane-shared"}},
                ],
            },
            "azure": {"providerConfigs": [{"name": "azure-production",
                                           "credentials": {"source": "Secret", "secretName": "azure-creds"}}]},
        },
        "composites": [
            {"namePrefix": "db", "count": 16},
            {"namePrefix": "orders", "count": 4, "claims": True, "namespaces": ["team-payments", "team-search"]},
        ],
        "cluster": {"cni": "post-dnat", "endpoints": True, "nodeLocalDNS": True, "nodes": 3, "nodeProvider": "aws"},
        "noise": {"namespaces": 8, "podsPerNamespace": 5, "eventsPerSecond": 200},
    },
}

PRESETS = {"seed": SEED, "realistic": REALISTIC}
