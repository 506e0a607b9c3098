"""sandbox/schema.py: defaulting, pruning and validation of custom resources, worded like the real API server."""

from __future__ import annotations

from typing import Any

import pytest

from xpchaos.sandbox import schema as s
from xpchaos.sandbox.errors import cause_type, invalid


def obj(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": schema}


def check(schema: dict[str, Any], value: Any) -> list[tuple[str, str]]:
    return s.validate(obj({"spec": schema}), {"spec": value})


# defaulting ----------------------------------------------------------------------------------------------------
def test_defaults_fill_absent_fields_recursively_inside_defaulted_values() -> None:
    schema = obj({"spec": obj({
        "deletionPolicy": {"type": "string", "default": "Delete"},
        "providerConfigRef": {"type": "object", "default": {"name": "default"}, "properties": {
            "name": {"type": "string"},
            "policy": {"type": "object", "default": {}, "properties": {
                "resolution": {"type": "string", "default": "Required"}}}}},
        "absent": obj({"inner": {"type": "string", "default": "not applied: its parent is absent"}}),
    })})
    value: dict[str, Any] = {"spec": {"deletionPolicy": "Orphan"}}
    s.apply_defaults(schema, value)
    assert value == {"spec": {"deletionPolicy": "Orphan", "providerConfigRef": {
        "name": "default", "policy": {"resolution": "Required"}}}}


def test_defaults_inside_array_items_and_additional_properties() -> None:
    item = obj({"weight": {"type": "integer", "default": 1}, "name": {"type": "string"}})
    schema = obj({"list": {"type": "array", "items": item},
                  "map": {"type": "object", "additionalProperties": item}})
    value: dict[str, Any] = {"list": [{"name": "a"}, {"weight": 5}], "map": {"x": {}, "y": {"weight": 2}}}
    s.apply_defaults(schema, value)
    assert value == {"list": [{"name": "a", "weight": 1}, {"weight": 5}],
                     "map": {"x": {"weight": 1}, "y": {"weight": 2}}}


def test_null_is_defaulted_unless_nullable() -> None:
    schema = obj({"a": {"type": "string", "default": "x"},
                  "b": {"type": "string", "default": "y", "nullable": True}})
    value: dict[str, Any] = {"a": None, "b": None}
    s.apply_defaults(schema, value)
    assert value == {"a": "x", "b": None}


def test_default_values_are_copies() -> None:
    schema = obj({"tags": {"type": "array", "items": {"type": "string"}, "default": ["*"]}})
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    s.apply_defaults(schema, first)
    s.apply_defaults(schema, second)
    first["tags"].append("mutated")
    assert second["tags"] == ["*"] and schema["properties"]["tags"]["default"] == ["*"]


# pruning -------------------------------------------------------------------------------------------------------
def test_unknown_fields_are_pruned_but_not_the_resource_type_and_metadata() -> None:
    schema = obj({"spec": obj({"known": {"type": "string"}})})
    value = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "whatever": 1},
             "spec": {"known": "k", "unknown": 1, "nested": {"deep": True}}, "extra": [1]}
    pruned = s.prune(schema, value)
    assert value == {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "whatever": 1},
                     "spec": {"known": "k"}}
    assert pruned == ["extra", "spec.nested", "spec.unknown"]


def test_pruning_inside_arrays_and_maps() -> None:
    item = obj({"name": {"type": "string"}})
    schema = obj({"list": {"type": "array", "items": item},
                  "map": {"type": "object", "additionalProperties": item}})
    value = {"list": [{"name": "a", "x": 1}], "map": {"anyKey": {"name": "b", "y": 2}}}
    assert s.prune(schema, value, root=False) == ["list[0].x", "map.anyKey.y"]
    assert value == {"list": [{"name": "a"}], "map": {"anyKey": {"name": "b"}}}


def test_preserve_unknown_fields_keeps_unknown_but_prunes_inside_known_properties() -> None:
    schema = obj({"status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
        "atProvider": obj({"id": {"type": "string"}})}}})
    value = {"status": {"anything": {"goes": 1}, "atProvider": {"id": "i", "junk": 2}}}
    s.prune(schema, value, root=False)
    assert value == {"status": {"anything": {"goes": 1}, "atProvider": {"id": "i"}}}


def test_embedded_resources_keep_api_version_kind_and_metadata() -> None:
    schema = obj({"template": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {
        "spec": obj({"a": {"type": "string"}})}},
        "plain": obj({"a": {"type": "string"}})})
    value = {"template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                          "spec": {"a": "1", "b": 2}, "other": 3},
             "plain": {"apiVersion": "v1", "kind": "ConfigMap", "a": "1"}}
    s.prune(schema, value, root=False)
    assert value == {"template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                  "spec": {"a": "1"}},
                     "plain": {"a": "1"}}


def test_non_nullable_nulls_without_default_are_pruned() -> None:
    schema = obj({"a": {"type": "string"}, "b": {"type": "string", "nullable": True}})
    value = {"a": None, "b": None}
    s.prune(schema, value, root=False)
    assert value == {"b": None}


def test_normalize_copies_defaults_then_prunes() -> None:
    schema = obj({"spec": obj({"size": {"type": "integer", "default": 1}})})
    body = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"junk": True}}
    out = s.normalize(schema, body)
    assert out["spec"] == {"size": 1} and body["spec"] == {"junk": True}


# validation: wording of each keyword ---------------------------------------------------------------------------
def test_type_errors() -> None:
    assert check({"type": "object", "properties": {"replicas": {"type": "integer"}}}, {"replicas": "string"}) == [
        ("spec.replicas", 'Invalid value: "string": spec.replicas in body must be of type integer: "string"')]
    assert check({"type": "string"}, {"a": 1}) == [
        ("spec", 'Invalid value: "object": spec in body must be of type string: "object"')]
    assert check({"type": "boolean"}, None) == [
        ("spec", 'Invalid value: "null": spec in body must be of type boolean: "null"')]
    assert check({"type": "array"}, 1.5) == [
        ("spec", 'Invalid value: "number": spec in body must be of type array: "number"')]


def test_types_that_are_accepted() -> None:
    assert check({"type": "number"}, 3) == []
    assert check({"type": "integer"}, 2.0) == []
    assert check({"type": "string", "nullable": True}, None) == []
    assert check({"x-kubernetes-int-or-string": True}, 80) == []
    assert check({"x-kubernetes-int-or-string": True}, "80%") == []
    assert check({"x-kubernetes-preserve-unknown-fields": True}, {"any": ["thing"]}) == []
    assert check({"x-kubernetes-int-or-string": True}, True) == [
        ("spec", 'Invalid value: "boolean": spec in body must be of type integer,string: "boolean"')]


def test_required() -> None:
    schema = {"type": "object", "required": ["forProvider"], "properties": {
        "forProvider": {"type": "object", "required": ["region"], "properties": {"region": {"type": "string"}}}}}
    assert check(schema, {}) == [("spec.forProvider", "Required value")]
    assert check(schema, {"forProvider": {}}) == [("spec.forProvider.region", "Required value")]
    assert s.validate({"type": "object", "required": ["spec"]}, {}) == [("spec", "Required value")]


def test_enum() -> None:
    source = {"type": "string", "enum": ["None", "Secret", "IRSA"]}
    assert check(source, "Foo") == [("spec", 'Unsupported value: "Foo": supported values: "None", "Secret", "IRSA"')]
    assert check(source, "Secret") == []
    assert check({"type": "integer", "enum": [1, 2]}, 3) == [("spec", 'Unsupported value: 3: supported values: "1", '
                                                                      '"2"')]
    assert check({"type": "boolean", "enum": [False]}, 0) == [
        ("spec", 'Invalid value: "integer": spec in body must be of type boolean: "integer"'),
        ("spec", 'Unsupported value: 0: supported values: "false"')]


def test_minimum_and_maximum() -> None:
    assert check({"type": "integer", "minimum": 1}, 0) == [
        ("spec", "Invalid value: 0: spec in body should be greater than or equal to 1")]
    assert check({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 1) == [
        ("spec", "Invalid value: 1: spec in body should be greater than 1")]
    assert check({"type": "integer", "maximum": 100}, 101) == [
        ("spec", "Invalid value: 101: spec in body should be less than or equal to 100")]
    assert check({"type": "number", "maximum": 1.5, "exclusiveMaximum": True}, 1.5) == [
        ("spec", "Invalid value: 1.5: spec in body should be less than 1.5")]
    assert check({"type": "number", "minimum": 1000000}, 0.5) == [
        ("spec", "Invalid value: 0.5: spec in body should be greater than or equal to 1e+06")]
    assert check({"type": "integer", "minimum": 1, "maximum": 100}, 50) == []
    assert check({"type": "integer", "multipleOf": 5}, 12) == [
        ("spec", "Invalid value: 12: spec in body should be a multiple of 5")]


def test_string_lengths_and_pattern() -> None:
    assert check({"type": "string", "maxLength": 3}, "abcd") == [("spec", "Too long: may not be more than 3 bytes")]
    assert check({"type": "string", "maxLength": 1}, "ab") == [("spec", "Too long: may not be more than 1 byte")]
    assert check({"type": "string", "maxLength": 3}, "äöü") == []  # characters, not bytes
    assert check({"type": "string", "minLength": 2}, "a") == [
        ("spec", 'Invalid value: "a": spec in body should be at least 2 chars long')]
    assert check({"type": "string", "pattern": "^[a-z]+$"}, "A1") == [
        ("spec", "Invalid value: \"A1\": spec in body should match '^[a-z]+$'")]
    assert check({"type": "string", "pattern": "[0-9]"}, "abc1def") == []  # unanchored, as Go's MatchString


def test_array_sizes_and_unique_items() -> None:
    assert check({"type": "array", "items": {"type": "string"}, "minItems": 1}, []) == [
        ("spec", "Invalid value: 0: spec in body should have at least 1 items")]
    assert check({"type": "array", "items": {"type": "string"}, "maxItems": 2}, ["a", "b", "c"]) == [
        ("spec", "Too many: 3: must have at most 2 items")]
    assert check({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [1, 2, 1]) == [
        ("spec", "Invalid value: \"\": spec in body shouldn't contain duplicates")]


def test_object_sizes() -> None:
    free = {"type": "object", "additionalProperties": {"type": "string"}}
    assert check({**free, "minProperties": 1}, {}) == [
        ("spec", "Invalid value: 0: spec in body should have at least 1 properties")]
    assert check({**free, "maxProperties": 1}, {"a": "1", "b": "2"}) == [
        ("spec", "Too many: 2: must have at most 1 item")]


def test_formats_where_cheap_and_unknown_formats_ignored() -> None:
    assert check({"type": "string", "format": "date-time"}, "2024-01-02T03:04:05Z") == []
    assert check({"type": "string", "format": "date-time"}, "yesterday") == [
        ("spec", 'Invalid value: "yesterday": spec in body must be of type date-time: "yesterday"')]
    assert check({"type": "string", "format": "byte"}, "aGVsbG8=") == []
    assert check({"type": "string", "format": "byte"}, "not base64!") != []
    assert check({"type": "string", "format": "no-such-format"}, "anything") == []
    assert check({"type": "integer", "format": "int32"}, 7) == []


def test_any_of_one_of_all_of_not() -> None:
    any_of = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    assert check(any_of, 1) == [] and check(any_of, "1") == []
    causes = check({"type": "string", "anyOf": [{"minLength": 3}, {"pattern": "^x"}]}, "ab")
    assert causes == [("<nil>", 'Invalid value: "": "spec" must validate at least one schema (anyOf)'),
                      ("spec", 'Invalid value: "ab": spec in body should be at least 3 chars long')]
    one_of = {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
    assert check(one_of, {"a": 1}) == []
    assert check(one_of, {"a": 1, "b": 2}) == [
        ("<nil>", 'Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid '
                  "alternatives")]
    assert check({"type": "integer", "allOf": [{"minimum": 1}, {"maximum": 3}]}, 5) == [
        ("spec", "Invalid value: 5: spec in body should be less than or equal to 3"),
        ("<nil>", 'Invalid value: "": "spec" must validate all the schemas (allOf)')]
    assert check({"type": "string", "not": {"enum": ["forbidden"]}}, "forbidden") == [
        ("<nil>", 'Invalid value: "": "spec" must not validate the schema (not)')]


def test_paths_with_array_indexes_and_map_keys() -> None:
    schema = {"type": "object", "properties": {
        "rules": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "ports": {"type": "array", "items": {"type": "integer"}}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}
    causes = check(schema, {"rules": [{"name": "a"}, {"ports": [80, "http"]}], "labels": {"team": 7}})
    assert causes == [
        ("spec.rules[1].ports[1]",
         'Invalid value: "string": spec.rules[1].ports[1] in body must be of type integer: "string"'),
        ("spec.rules[1].name", "Required value"),
        ("spec.labels.team", 'Invalid value: "integer": spec.labels.team in body must be of type string: "integer"'),
    ]


def test_list_type_set_and_map_duplicates() -> None:
    schema = {"type": "object", "properties": {
        "records": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"],
                  "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
        "byName": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}}}
    causes = check(schema, {"records": ["a", "b", "a"], "ports": [{"port": 80}, {"port": 80}],
                            "byName": {"k": ["x", "x"]}})
    assert causes == [("spec.records[2]", 'Duplicate value: "a"'),
                      ("spec.ports[1]", 'Duplicate value: {"port":80}'),
                      ("spec.byName[k][1]", 'Duplicate value: "x"')]


def test_embedded_resources_need_api_version_and_kind() -> None:
    schema = {"type": "object", "properties": {"template": {
        "type": "object", "x-kubernetes-embedded-resource": True, "x-kubernetes-preserve-unknown-fields": True}}}
    assert check(schema, {"template": {"metadata": {}}}) == [("spec.template.apiVersion", "Required value"),
                                                             ("spec.template.kind", "Required value")]
    assert check(schema, {"template": {"apiVersion": "a/b/c", "kind": "Not_A_Kind"}})[0] == (
        "spec.template.apiVersion", 'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c')
    assert check(schema, {"template": {"apiVersion": "v1", "kind": "ConfigMap"}}) == []


def test_status_is_validated_apart_with_status_in_the_field_path() -> None:
    schema = obj({"spec": obj({"size": {"type": "integer"}}),
                  "status": obj({"phase": {"type": "string", "enum": ["Ready", "Failed"]}})})
    resource = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"size": 1},
                "status": {"phase": "Bogus"}}
    assert s.validate_resource(schema, resource, status_apart=True) == []
    assert s.validate_resource(schema, resource, status_apart=False) == [
        ("status.phase", 'Unsupported value: "Bogus": supported values: "Ready", "Failed"')]
    assert s.validate_status(schema, resource) == [
        ("status.phase", 'Unsupported value: "Bogus": supported values: "Ready", "Failed"')]
    resource["status"] = {"phase": 3}
    assert s.validate_status(schema, resource) == [
        ("status.phase", 'Invalid value: "integer": phase in body must be of type string: "integer"'),
        ("status.phase", "Unsupported value: 3: supported values: \"Ready\", \"Failed\"")]


# rendering -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("number", "text"), [
    (1.0, "1"), (0.5, "0.5"), (100000.0, "100000"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5, "-2.5"),
])
def test_floats_print_like_go(number: float, text: str) -> None:
    assert s._go_float(number) == text


def test_strings_and_objects_print_like_go() -> None:
    assert s._go_value('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert s._go_value({"b": [1, 2.0], "a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e","b":[1,2]}'
    assert s._go_value(True) == "true" and s._go_value(None) == "null"


def test_invalid_error_lists_causes_with_their_types() -> None:
    causes = [("spec.a", "Required value"), ("spec.b", 'Unsupported value: "x": supported values: "y"'),
              ("spec.c", 'Invalid value: "string": spec.c in body must be of type integer: "string"'),
              ("spec.d", "Invalid value: 0: spec.d in body should be greater than or equal to 1")]
    status = invalid("Widget", "w", causes, "example.org").status()
    assert status["message"].startswith('Widget.example.org "w" is invalid: [spec.a: Required value, spec.b: ')
    assert [c["reason"] for c in status["details"]["causes"]] == [
        "FieldValueRequired", "FieldValueNotSupported", "FieldValueTypeInvalid", "FieldValueInvalid"]
    single = invalid("Widget", "w", causes[:1], "example.org").status()
    assert single["message"] == 'Widget.example.org "w" is invalid: spec.a: Required value'
    assert cause_type("Too long: may not be more than 3 bytes") == "FieldValueTooLong"
