"""Pure helpers of the fault actions: selector conversion, invalid credentials of the same format."""

from __future__ import annotations

import configparser
import json

import pytest

from xpchaos.actions._common import FaultError
from xpchaos.actions.credentials import invalid_credential
from xpchaos.actions.network import selector_to_label_selector


@pytest.mark.parametrize(("text", "expected"), [
    ("pkg.crossplane.io/provider in (provider-aws-rds,provider-aws-route53)",
     {"matchExpressions": [{"key": "pkg.crossplane.io/provider", "operator": "In",
                            "values": ["provider-aws-rds", "provider-aws-route53"]}]}),
    ("pkg.crossplane.io/provider=provider-aws", {"matchLabels": {"pkg.crossplane.io/provider": "provider-aws"}}),
    ("a==b, c != d, e notin (f, g), h, !i",
     {"matchLabels": {"a": "b"},
      "matchExpressions": [{"key": "c", "operator": "NotIn", "values": ["d"]},
                           {"key": "e", "operator": "NotIn", "values": ["f", "g"]},
                           {"key": "h", "operator": "Exists"}, {"key": "i", "operator": "DoesNotExist"}]}),
])
def test_selector_conversion(text: str, expected: dict[str, object]) -> None:
    assert selector_to_label_selector(text) == expected


def test_bad_selector_is_refused() -> None:
    with pytest.raises(FaultError, match="cannot read the label selector"):
        selector_to_label_selector("a in b")


def test_invalid_aws_credential_keeps_the_ini_format() -> None:
    original = b"[default]\naws_access_key_id = AKIAORIGINAL00000000\naws_secret_access_key = s3cr3t\nregion = x\n"
    kind, invalid = invalid_credential(original)
    parser = configparser.ConfigParser()
    parser.read_string(invalid.decode())
    assert kind == "aws-ini" and parser["default"]["region"] == "x"
    assert parser["default"]["aws_access_key_id"].startswith("AKIA")
    assert parser["default"]["aws_access_key_id"] != "AKIAORIGINAL00000000"
    assert parser["default"]["aws_secret_access_key"] != "s3cr3t"


def test_invalid_azure_credential_keeps_the_json_format() -> None:
    original = {"clientId": "c", "clientSecret": "s3cr3t", "subscriptionId": "s", "tenantId": "t"}
    kind, invalid = invalid_credential(json.dumps(original).encode())
    doc = json.loads(invalid)
    assert kind == "azure-json" and set(doc) == set(original)
    assert doc["clientSecret"] != "s3cr3t" and doc["clientId"] == "c"


def test_unknown_credential_format_is_refused_without_echoing_it() -> None:
    with pytest.raises(FaultError) as caught:
        invalid_credential(b"token: TOPSECRET")
    assert "TOPSECRET" not in str(caught.value)
