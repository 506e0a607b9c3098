from __future__ import annotations

import pytest

from xpchaos.sandbox.errors import ApiError
from xpchaos.sandbox.selectors import fields_match, labels_match, parse_field_selector, parse_label_selector


def obj(**labels: str) -> dict:
    return {"metadata": {"name": "n", "labels": labels}}


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("a=1", {"a": "1"}, True),
    ("a=1", {"a": "2"}, False),
    ("a!=1", {}, True),  # a missing key is "not equal", as in apimachinery
    ("a in (1, 2),b", {"a": "2", "b": "x"}, True),
    ("a notin (1,2)", {"a": "3"}, True),
    ("a notin (1,2)", {"a": "1"}, False),
    ("!a", {"a": "1"}, False),
    ("example.org/role=db", {"example.org/role": "db"}, True),
    ("", {"anything": "x"}, True),
])
def test_label_selector(selector: str, labels: dict, expected: bool) -> None:
    assert labels_match(parse_label_selector(selector), obj(**labels)) is expected


@pytest.mark.parametrize("bad", ["a=1,,b=2", "a in 1", "!a in (1)", "a=(x)"])
def test_malformed_label_selector_is_400(bad: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_label_selector(bad)
    assert err.value.code == 400


def test_field_selector_on_nested_fields() -> None:
    event = {"metadata": {"name": "e"}, "involvedObject": {"name": "db"}, "source": {"component": "managed/x"}}
    allowed = ("involvedObject.name", "source")
    assert fields_match(parse_field_selector("involvedObject.name=db,source=managed/x", allowed), event)
    assert not fields_match(parse_field_selector("involvedObject.name!=db", allowed), event)
    with pytest.raises(ApiError):
        parse_field_selector("status.phase=Running", allowed)
