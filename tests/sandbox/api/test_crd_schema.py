"""CRD schemas over HTTPS: custom resources are defaulted, pruned and validated by their version's openAPIV3Schema,
with a hand-written CRD and with the real upstream CRDs of the Upbound AWS/Azure providers and Crossplane."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sandbox.api.http import Http
from tests.support.paths import UPSTREAM_CRDS, UPSTREAM_EXAMPLES

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_names)}"


def widget_crd() -> dict[str, Any]:
    spec = {"type": "object", "required": ["size"], "properties": {
        "size": {"type": "integer", "minimum": 1},
        "mode": {"type": "string", "enum": ["Fast", "Safe"], "default": "Safe"},
        "ports": {"type": "array", "items": {"type": "object", "required": ["port"], "properties": {
            "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }}
    status = {"type": "object", "properties": {
        "phase": {"type": "string", "enum": ["Pending", "Ready"]}, "observed": {"type": "integer"}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.schema.example.org"},
        "spec": {"group": "schema.example.org", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                   "metadata": {"type": "object"}, "spec": spec, "status": status}}}}]},
    }


def install(http: Http, crd: dict[str, Any]) -> None:
    """Create the CRD; one already there (installed by an earlier test or by the server) is fine."""
    response = http.post(CRDS, crd)
    assert response.status_code in (201, 409), response.text[:500]


def causes(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, f"{response.status_code}: {response.text[:500]}"
    body = response.json()
    assert body["reason"] == "Invalid"
    return [(c["field"], c["message"]) for c in body["details"]["causes"]]


@pytest.fixture
def widgets(http: Http, ns: str) -> str:
    install(http, widget_crd())
    return f"/apis/schema.example.org/v1/namespaces/{ns}/widgets"


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "schema.example.org/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


# a hand-written CRD ----------------------------------------------------------------------------------------------
def test_create_applies_defaults_and_prunes_unknown_fields(http: Http, widgets: str) -> None:
    body = widget("w", size=2, ports=[{"port": 80, "junk": 1}], labels={"team": "a"}, raw={"kept": {"x": 1}},
                  unknown="dropped")
    body["extra"] = "dropped too"
    created = http.ok(http.post(widgets, body), 201)
    assert created["spec"] == {"size": 2, "mode": "Safe", "ports": [{"port": 80, "protocol": "TCP"}],
                               "labels": {"team": "a"}, "raw": {"kept": {"x": 1}}}
    assert "extra" not in created
    assert http.ok(http.get(f"{widgets}/w"))["spec"] == created["spec"]


def test_patch_and_put_are_pruned_and_defaulted_too(http: Http, widgets: str) -> None:
    http.ok(http.post(widgets, widget("p", size=1, mode="Fast")), 201)
    patched = http.ok(http.patch(f"{widgets}/p", {"spec": {"mode": None, "sneaky": True, "ports": [{"port": 1}]}}))
    assert patched["spec"] == {"size": 1, "mode": "Safe", "ports": [{"port": 1, "protocol": "TCP"}]}
    assert patched["metadata"]["generation"] == 2
    # a patch that only adds unknown fields changes nothing at all
    again = http.ok(http.patch(f"{widgets}/p", {"spec": {"unknown": 1}}))
    assert again["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]
    put = dict(patched, spec={"size": 3, "other": "x"})
    assert http.ok(http.put(f"{widgets}/p", put))["spec"] == {"size": 3, "mode": "Safe"}


def test_wrong_type_is_422_with_the_cause_and_nothing_is_stored(http: Http, widgets: str) -> None:
    response = http.post(widgets, widget("bad", size="string"))
    assert causes(response) == [
        ("spec.size", 'Invalid value: "string": spec.size in body must be of type integer: "string"')]
    assert response.json()["message"] == (
        'Widget.schema.example.org "bad" is invalid: spec.size: Invalid value: "string": spec.size in body must be '
        'of type integer: "string"')
    assert response.json()["details"]["causes"][0]["reason"] == "FieldValueTypeInvalid"
    assert http.get(f"{widgets}/bad").status_code == 404


def test_several_causes_and_paths_with_indexes(http: Http, widgets: str) -> None:
    response = http.post(widgets, widget("many", mode="Turbo", ports=[{"port": 1}, {"protocol": "UDP"}]))
    assert sorted(causes(response)) == [
        ("spec.mode", 'Unsupported value: "Turbo": supported values: "Fast", "Safe"'),
        ("spec.ports[1].port", "Required value"),
        ("spec.size", "Required value"),
    ]
    assert response.json()["message"].startswith('Widget.schema.example.org "many" is invalid: [')


def test_invalid_patch_is_422_and_changes_nothing(http: Http, widgets: str) -> None:
    created = http.ok(http.post(widgets, widget("keep", size=5)), 201)
    assert causes(http.patch(f"{widgets}/keep", {"spec": {"size": 0}})) == [
        ("spec.size", "Invalid value: 0: spec.size in body should be greater than or equal to 1")]
    assert causes(http.patch(f"{widgets}/keep", {"spec": {"labels": {"team": 7}}})) == [
        ("spec.labels.team",
         'Invalid value: "integer": spec.labels.team in body must be of type string: "integer"')]
    current = http.ok(http.get(f"{widgets}/keep"))
    assert current["spec"] == created["spec"]
    assert current["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_status_subresource_is_validated_and_pruned(http: Http, widgets: str) -> None:
    http.ok(http.post(widgets, widget("s", size=1)), 201)
    assert causes(http.patch(f"{widgets}/s/status", {"status": {"phase": "Exploded"}})) == [
        ("status.phase", 'Unsupported value: "Exploded": supported values: "Pending", "Ready"')]
    assert causes(http.patch(f"{widgets}/s/status", {"status": {"observed": "one"}})) == [
        ("status.observed", 'Invalid value: "string": observed in body must be of type integer: "string"')]
    done = http.ok(http.patch(f"{widgets}/s/status", {"status": {"phase": "Ready", "junk": 1}}))
    assert done["status"] == {"phase": "Ready"}
    # the main resource ignores status, even an invalid one
    main = http.ok(http.patch(f"{widgets}/s", {"status": {"phase": "Nonsense"}, "spec": {"size": 2}}))
    assert main["status"] == {"phase": "Ready"} and main["spec"]["size"] == 2


def test_crd_without_a_schema_or_with_a_non_object_root_is_refused(http: Http) -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "gadgets.schema.example.org"
    crd["spec"]["names"] = {"plural": "gadgets", "kind": "Gadget"}
    del crd["spec"]["versions"][0]["schema"]
    assert causes(http.post(CRDS, crd)) == [("spec.versions[0].schema.openAPIV3Schema", "Required value")]
    crd["spec"]["versions"][0]["schema"] = {"openAPIV3Schema": {"type": "array"}}
    assert causes(http.post(CRDS, crd)) == [
        ("spec.versions[0].schema.openAPIV3Schema.type", 'Invalid value: "array": must be object at the root')]


# the real upstream CRDs ------------------------------------------------------------------------------------------
def upstream(path: Path) -> Any:
    """The documents of an upstream file (one, or a list), as kubectl reads them."""
    with open(path, encoding="utf-8") as handle:
        documents = [d for d in yaml.load_all(handle, Loader=_LOADER) if d]
    return documents[0] if len(documents) == 1 else documents


@pytest.fixture(scope="module")
def upstream_crds(sandbox: Any) -> None:
    http = Http(sandbox)
    for name in ("aws.upbound.io_providerconfigs.yaml", "rds.aws.upbound.io_clusters.yaml",
                 "route53.aws.upbound.io_records.yaml", "azure.upbound.io_providerconfigs.yaml",
                 "apiextensions.crossplane.io_compositeresourcedefinitions.yaml"):
        install(http, json.loads(json.dumps(upstream(UPSTREAM_CRDS / name))))  # POSTed as JSON, like kubectl does


def test_upstream_aws_provider_config_example(http: Http, upstream_crds: None) -> None:
    example = upstream(UPSTREAM_EXAMPLES / "aws-providerconfig.yaml")
    example["metadata"]["name"] = unique("aws-default")
    path = "/apis/aws.upbound.io/v1beta1/providerconfigs"
    created = http.ok(http.post(path, example), 201)
    assert created["spec"] == example["spec"]  # the example is valid and has nothing to prune or default

    bogus = copy.deepcopy(example)
    bogus["metadata"]["name"] = unique("aws-bogus")
    bogus["spec"]["credentials"]["source"] = "Foo"
    assert causes(http.post(path, bogus)) == [(
        "spec.credentials.source",
        'Unsupported value: "Foo": supported values: "None", "Secret", "IRSA", "WebIdentity", "PodIdentity", "Upbound"',
    )]
    assert http.get(f"{path}/{bogus['metadata']['name']}").status_code == 404

    name = example["metadata"]["name"]
    pruned = http.ok(http.patch(f"{path}/{name}", {"spec": {"credentials": {"notAField": 1}, "alsoNot": True}}))
    assert pruned["spec"] == example["spec"]
    missing = http.patch(f"{path}/{name}", {"spec": {"credentials": {"secretRef": {"key": None}}}})
    assert causes(missing) == [("spec.credentials.secretRef.key", "Required value")]


def test_upstream_route53_record_example_gets_the_schema_defaults(http: Http, upstream_crds: None) -> None:
    documents = upstream(UPSTREAM_EXAMPLES / "aws-route53-record.yaml")
    record = next(d for d in documents if d["kind"] == "Record")
    record["metadata"]["name"] = unique("www")
    path = "/apis/route53.aws.upbound.io/v1beta1/records"
    body = copy.deepcopy(record)
    body["spec"]["forProvider"]["notInTheSchema"] = "pruned"
    created = http.ok(http.post(path, body), 201)
    spec = created["spec"]
    assert spec["forProvider"] == record["spec"]["forProvider"]
    assert spec["deletionPolicy"] == "Delete"
    assert spec["managementPolicies"] == ["*"]
    assert spec["providerConfigRef"] == {"name": "default"}
    assert created["metadata"]["labels"] == record["metadata"]["labels"]

    wrong = copy.deepcopy(record)
    wrong["metadata"]["name"] = unique("wrong")
    wrong["spec"]["deletionPolicy"] = "Shred"
    wrong["spec"]["forProvider"]["ttl"] = "five"
    assert sorted(causes(http.post(path, wrong))) == [
        ("spec.deletionPolicy", 'Unsupported value: "Shred": supported values: "Orphan", "Delete"'),
        ("spec.forProvider.ttl", 'Invalid value: "string": spec.forProvider.ttl in body must be of type number: '
                                 '"string"'),
    ]


def test_upstream_azure_provider_config(http: Http, upstream_crds: None) -> None:
    path = "/apis/azure.upbound.io/v1beta1/providerconfigs"
    name = unique("azure")
    body = {"apiVersion": "azure.upbound.io/v1beta1", "kind": "ProviderConfig", "metadata": {"name": name},
            "spec": {"credentials": {"source": "Secret", "secretRef": {"name": "azure-creds", "namespace": "crossplane",
                                                                       "key": "creds"}},
                     "subscriptionID": "sub", "notInTheSchema": "pruned"}}
    created = http.ok(http.post(path, body), 201)
    assert "notInTheSchema" not in created["spec"] and created["spec"]["subscriptionID"] == "sub"
    assert created["spec"]["credentials"]["source"] == "Secret"
    wrong = copy.deepcopy(body)
    wrong["metadata"]["name"] = unique("azure-wrong")
    wrong["spec"]["credentials"]["source"] = "IRSA"
    [(field, message)] = causes(http.post(path, wrong))
    assert field == "spec.credentials.source" and message.startswith('Unsupported value: "IRSA": supported values: '
                                                                     '"None", "Secret", "UserAssignedManagedIdentity"')


def test_upstream_rds_cluster(http: Http, upstream_crds: None) -> None:
    path = "/apis/rds.aws.upbound.io/v1beta2/clusters"
    name = unique("db")
    body = {"apiVersion": "rds.aws.upbound.io/v1beta2", "kind": "Cluster", "metadata": {"name": name},
            "spec": {"forProvider": {"region": "us-east-1", "engine": "aurora-postgresql", "port": 5432,
                                     "masterUsername": "admin", "skipFinalSnapshot": True, "tags": {"team": "x"},
                                     "masterPasswordSecretRef": {"name": "pw", "namespace": "default", "key": "k"}},
                     "providerConfigRef": {"name": "aws-primary"}}}
    created = http.ok(http.post(path, body), 201)
    assert created["spec"]["forProvider"] == body["spec"]["forProvider"]
    assert created["spec"]["deletionPolicy"] == "Delete" and created["spec"]["providerConfigRef"] == {
        "name": "aws-primary"}
    wrong = copy.deepcopy(body)
    wrong["metadata"]["name"] = unique("db-wrong")
    del wrong["spec"]["forProvider"]["region"]
    wrong["spec"]["forProvider"]["port"] = "5432"
    assert sorted(causes(http.post(path, wrong))) == [
        ("spec.forProvider.port", 'Invalid value: "string": spec.forProvider.port in body must be of type number: '
                                  '"string"'),
        ("spec.forProvider.region", "Required value"),
    ]
    status = http.patch(f"{path}/{name}/status", {"status": {"atProvider": {"port": "not a number"}}})
    assert causes(status) == [
        ("status.atProvider.port",
         'Invalid value: "string": atProvider.port in body must be of type number: "string"')]


def test_upstream_composite_resource_definition(http: Http, upstream_crds: None) -> None:
    name = f"x{unique('databases')}.example.org"
    plural = name.split(".")[0]
    body = {"apiVersion": "apiextensions.crossplane.io/v1", "kind": "CompositeResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": "example.org", "names": {"kind": "XDatabase", "plural": plural},
                     "versions": [{"name": "v1alpha1", "served": True, "referenceable": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                       "spec": {"type": "object"}}}}}],
                     "unknownField": "pruned"}}
    created = http.ok(http.post("/apis/apiextensions.crossplane.io/v1/compositeresourcedefinitions", body), 201)
    spec = created["spec"]
    assert "unknownField" not in spec
    assert spec["defaultCompositeDeletePolicy"] == "Background"
    assert spec["defaultCompositionUpdatePolicy"] == "Automatic"
    assert spec["scope"] == "LegacyCluster"
    # the schema inside the XRD is preserved as written (x-kubernetes-preserve-unknown-fields)
    assert spec["versions"][0]["schema"]["openAPIV3Schema"]["properties"] == {"spec": {"type": "object"}}
    missing = copy.deepcopy(body)
    missing["metadata"]["name"] = f"x{unique('other')}.example.org"
    del missing["spec"]["group"]
    assert causes(http.post("/apis/apiextensions.crossplane.io/v1/compositeresourcedefinitions", missing)) == [
        ("spec.group", "Required value")]
