from __future__ import annotations

import pytest

from xpchaos.sandbox.errors import ApiError
from xpchaos.sandbox.patching import MERGE_PATCH, STRATEGIC_PATCH, apply_patch, merge_patch, strategic_merge_patch
from xpchaos.sandbox.tables import human_age, jsonpath


def test_merge_patch_rfc7386_examples() -> None:
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}


def test_strategic_directives() -> None:
    current = {"metadata": {"finalizers": ["a", "b"]}, "spec": {"keep": 1, "drop": 2, "map": {"x": 1, "y": 2}}}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
             "spec": {"$retainKeys": ["keep", "map"], "map": {"$patch": "replace", "z": 3}}}
    assert strategic_merge_patch(current, patch) == {"metadata": {"finalizers": ["b"]},
                                                     "spec": {"keep": 1, "map": {"z": 3}}}


def test_strategic_merges_finalizers_as_a_set_and_conditions_by_type() -> None:
    current = {"metadata": {"finalizers": ["a"]},
               "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Synced", "status": "True"}]}}
    patch = {"metadata": {"finalizers": ["a", "b"]}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    merged = strategic_merge_patch(current, patch)
    assert merged["metadata"]["finalizers"] == ["a", "b"]
    assert merged["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                              {"type": "Synced", "status": "True"}]


def test_apply_patch_rejects_non_object_bodies_and_smp_on_custom() -> None:
    with pytest.raises(ApiError) as err:
        apply_patch(MERGE_PATCH, {}, [1, 2], custom=False)
    assert err.value.code == 400
    with pytest.raises(ApiError) as err:
        apply_patch(STRATEGIC_PATCH, {}, {}, custom=True)
    assert err.value.code == 415


def test_jsonpath_subset_used_by_printer_columns() -> None:
    obj = {"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]},
           "spec": {"list": [1, 2]}}
    assert jsonpath(obj, ".status.conditions[?(@.type=='Ready')].status") == "True"
    assert jsonpath(obj, '.status.conditions[?(@.type=="Synced")].status') == "False"
    assert jsonpath(obj, ".spec.list[1]") == 2
    assert jsonpath(obj, ".spec.missing") is None
    annotated = {"metadata": {"annotations": {"crossplane.io/external-name": "db-1"}}}
    assert jsonpath(annotated, ".metadata.annotations.crossplane\\.io/external-name") == "db-1"


def test_human_age_shapes() -> None:
    assert human_age(None) == "<unknown>"
    assert human_age("2000-01-01T00:00:00Z").endswith("d")
