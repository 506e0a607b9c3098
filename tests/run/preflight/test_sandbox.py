"""``xpchaos preflight`` against real sandboxes (blueprint and stock, real timings), through the Kubernetes API."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.run.preflight.helpers import findings, run_preflight
from tests.support.targets import edited

Start = Callable[[str, str], Path]
OBJECT_CHECKS = ("composite", "providerconfig", "secret", "managed", "pods")


def test_blueprint_at_real_speed_is_ready(sandbox_target: Start) -> None:
    code, found = findings(sandbox_target("blueprint", "real"))
    assert code == 0, [f for f in found if f["status"] != "ok"]
    assert not [f for f in found if f["status"] == "fail"]
    polls = [f for f in found if f["check"] == "poll"]
    assert {p["message"].split()[0] for p in polls} == {"provider-aws-rds", "provider-aws-route53",
                                                         "provider-azure-sql"}
    for poll in polls:
        assert poll["status"] == "ok", poll
        assert "polls every 10s (--poll=10s in Deployment crossplane-system/" in poll["message"]
    objects = [f for f in found if f["check"] in OBJECT_CHECKS]
    assert {f["check"] for f in objects} == set(OBJECT_CHECKS)
    assert all(f["status"] == "ok" for f in objects), objects
    assert [f["status"] for f in found if f["check"] == "rbac"] == ["ok"]
    dns = [f for f in found if f["check"] == "dns"]
    assert dns and all(f["status"] == "ok" and "answers the primary" in f["message"] for f in dns)
    assert [f["status"] for f in found if f["check"] in ("context", "api")] == ["ok", "ok"]


def test_text_output_is_a_table_with_the_fixes(sandbox_target: Start) -> None:
    result = run_preflight(sandbox_target("stock", "real"))
    assert result.exit_code == 1
    for word in ("check", "status", "message", "fix", "poll", "FAIL", "DeploymentRuntimeConfig", "NOT READY"):
        assert word in result.stdout
    assert result.stderr == ""


def test_stock_at_real_speed_fails_on_the_poll_interval(sandbox_target: Start) -> None:
    code, found = findings(sandbox_target("stock", "real"))
    assert code == 1
    polls = [f for f in found if f["check"] == "poll"]
    assert polls and all(p["status"] == "fail" for p in polls), polls
    for poll in polls:
        assert "polls every 10m" in poll["message"]
        assert ("up to 10 minutes, longer than the 90 s SLO (a provider notices a fault only at its next poll)"
                in poll["message"])
        assert "--poll" in poll["fix"] and "DeploymentRuntimeConfig" in poll["fix"]
    # nothing else is wrong with it but the time budget the poll breaks
    assert [f for f in found if f["status"] == "fail" and f["check"] != "budget"] == polls


def test_stock_at_real_speed_the_budget_names_the_ten_minute_poll(sandbox_target: Start) -> None:
    _code, found = findings(sandbox_target("stock", "real"))
    [budget] = [f for f in found if f["check"] == "budget"]
    assert budget["status"] == "fail"
    assert "DNS wiring function (production-db)" in budget["message"]
    assert "the 90 s SLO cannot be met; the provider poll (10 minutes, " in budget["message"]
    assert "--poll" in budget["fix"]
    rows = {name: (value, source) for name, value, source in budget["rows"]}
    assert rows["provider poll"][0] == "600 s" and "--poll=10m in Deployment crossplane-system/" in \
        rows["provider poll"][1]
    assert rows["reconciler backoff"][0] == "30 s"
    # stock Crossplane runs no failover function: nothing publishes a detection threshold
    assert rows["detection threshold"] == ("not published", "no step of Composition global-database-aws-azure "
                                                            "publishes one in its input")
    assert rows["TTL"] == ("30 s", "the target's dns ttl")
    assert rows["total"] == ("660 s", "the 90 s SLO cannot be met: the provider poll breaks it")


def test_text_output_shows_the_budget_as_a_table(sandbox_target: Start) -> None:
    result = run_preflight(sandbox_target("stock", "real"))
    table = result.stdout[result.stdout.index("Time budget: provider faults"):]
    for word in ("term", "seconds", "from", "provider poll", "600 s", "not published", "total", "660 s"):
        assert word in table, word


def test_blueprint_at_real_speed_fits_its_budget_with_the_published_detection(sandbox_target: Start) -> None:
    _code, found = findings(sandbox_target("blueprint", "real"))
    [budget] = [f for f in found if f["check"] == "budget"]
    assert budget["status"] == "ok", budget
    rows = {name: (value, source) for name, value, source in budget["rows"]}
    assert rows["detection threshold"] == ("20 s", "detectionThreshold: 20s in Composition "
                                                   "global-database-aws-azure, step failover")
    assert rows["total"] == ("70 s", "within the 90 s SLO")  # 10 s poll + 10 s backoff + 20 s + 30 s TTL
    loops = [f for f in found if f["check"] == "loop"]
    assert loops and all(f["status"] == "ok" for f in loops), loops


def test_missing_provider_config_is_named_with_what_exists(sandbox_target: Start, tmp_path: Path) -> None:
    def rename(doc: dict[str, Any]) -> None:
        doc["providers"]["aws"]["providerConfig"]["name"] = "aws-staging"

    code, found = findings(edited(sandbox_target("blueprint", "real"), tmp_path / "t.yaml", rename))
    assert code == 1
    failing = [f for f in found if f["status"] == "fail"]
    assert [f["check"] for f in failing] == ["providerconfig"], failing
    assert "'aws-staging' does not exist" in failing[0]["message"]
    assert "aws-production" in failing[0]["message"]  # what exists
    assert "providers.aws.providerConfig" in failing[0]["fix"]


def test_missing_secret_key_names_the_keys_it_has(sandbox_target: Start, tmp_path: Path) -> None:
    def rekey(doc: dict[str, Any]) -> None:
        doc["providers"]["azure"]["credentials"]["secret"]["key"] = "token"

    code, found = findings(edited(sandbox_target("blueprint", "real"), tmp_path / "t.yaml", rekey))
    assert code == 1
    failing = [f for f in found if f["status"] == "fail"]
    assert [f["check"] for f in failing] == ["secret"]
    assert "has no key 'token' (it has: credentials)" in failing[0]["message"]


def test_context_not_allowed_checks_nothing_else(sandbox_target: Start, tmp_path: Path) -> None:
    def restrict(doc: dict[str, Any]) -> None:
        doc["allowedContexts"] = ["production-eu"]

    result = run_preflight(edited(sandbox_target("blueprint", "real"), tmp_path / "t.yaml", restrict), "-o", "json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert len(found) == 1 and found[0]["check"] == "context" and found[0]["status"] == "fail"
    assert "'xpchaos-sandbox' is not in allowedContexts (production-eu)" in found[0]["message"]


@pytest.mark.parametrize("text", ["kind: Target\nproviders: {}\n", "kind: [unclosed\n", "kind: Experiment\n"])
def test_invalid_target_is_exit_2_in_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run_preflight(path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert str(path) in result.stderr


def test_missing_target_file_is_exit_2(tmp_path: Path) -> None:
    result = run_preflight(tmp_path / "none.yaml")
    assert result.exit_code == 2 and "no such target file" in result.stderr


@pytest.mark.parametrize("profile", ["blueprint", "stock"])
def test_no_credential_value_in_any_output(sandbox_target: Start, profile: str) -> None:
    target = sandbox_target(profile, "real")
    doc = yaml.safe_load(target.read_text())
    api = config.new_client_from_config(config_file=doc["kubeconfig"], context=doc["context"])
    values = []
    for provider in doc["providers"].values():
        ref = provider["credentials"]["secret"]
        encoded = client.CoreV1Api(api).read_namespaced_secret(ref["name"], ref["namespace"]).data[ref["key"]]
        decoded = base64.b64decode(encoded).decode()
        values += [encoded, decoded, *(line.split("=", 1)[-1].strip() for line in decoded.splitlines())]
    secrets = [v for v in values if len(v) >= 8]
    assert secrets
    for args in ((), ("-o", "json")):
        result = run_preflight(target, *args)
        assert result.exit_code in (0, 1)
        for secret in secrets:
            assert secret not in result.stdout and secret not in result.stderr


def test_a_missing_composite_leaves_no_budget_to_add_up(sandbox_target: Start, tmp_path: Path) -> None:
    def rename(doc: dict[str, Any]) -> None:
        doc["composites"][0]["name"] = "staging-db"

    _code, found = findings(edited(sandbox_target("blueprint", "real"), tmp_path / "t.yaml", rename))
    budget = [f for f in found if f["check"] == "budget"]
    assert [(f["status"], f["fix"]) for f in budget] == [("warn", "see the composite check")], budget
    assert not [f for f in found if "could not finish" in f["message"]]
