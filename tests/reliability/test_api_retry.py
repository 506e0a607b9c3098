"""The harness's API client retries what the server asks to be retried (``xpchaos.core.api_retry``), counts every
retry, and hands back the server's answer when the retries run out. Against a sandbox that injects the faults
(``--api-faults``) into the harness's requests only (its User-Agent ``xpchaos/...``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.support.sandboxes import Sandbox
from xpchaos.core import api_retry, kube


def _faulty(own_sandbox: Callable[..., Sandbox], tmp_path: Path, spec: str) -> tuple[Sandbox, Path]:
    log = tmp_path / "faults.jsonl"
    box = own_sandbox("--profile", "none", "--api-faults", spec, "--api-faults-seed", "7",
                      "--api-faults-retry-after", "0", "--api-faults-agent", kube.USER_AGENT.split("/")[0] + "/",
                      "--api-faults-log", str(log))
    return box, log


def _injected(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_every_verb_is_retried_through_refusals_and_each_retry_is_counted(own_sandbox: Callable[..., Sandbox],
                                                                           tmp_path: Path) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "500=0.1,503=0.1,429=0.1")
    api_retry.reset()
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig))
    for i in range(20):
        body = {"metadata": {"name": f"c{i}"}, "data": {"k": "v"}}
        core.create_namespaced_config_map("default", body)
        core.patch_namespaced_config_map(f"c{i}", "default", {"data": {"k": "w"}})
        assert core.read_namespaced_config_map(f"c{i}", "default").data == {"k": "w"}
        core.delete_namespaced_config_map(f"c{i}", "default")
    injected = _injected(log)
    counted = api_retry.stats()
    assert len(injected) >= 20, injected  # 80 requests at 30 %: the faults really came
    assert counted["total"] == len(injected), (counted, len(injected))
    assert {f["fault"] for f in injected} == {"500", "503", "429"}
    assert {f["method"] for f in injected} >= {"POST", "PATCH", "GET"}
    # nothing was made twice and nothing is left: a refused request changed nothing, the retry did it once
    plain: Any = client.CoreV1Api(config.new_client_from_config(config_file=box.kubeconfig))
    assert [c.metadata.name for c in plain.list_namespaced_config_map("default").items
            if c.metadata.name.startswith("c")] == []


def test_when_the_retries_run_out_the_server_answer_reaches_the_caller(own_sandbox: Callable[..., Sandbox],
                                                                        tmp_path: Path) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "503=1")
    api_retry.reset()
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig))
    with pytest.raises(ApiException) as raised:
        core.read_namespace("default")
    assert raised.value.status == 503
    assert len(_injected(log)) == api_retry.ATTEMPTS
    assert api_retry.stats() == {"total": api_retry.ATTEMPTS - 1, "503": api_retry.ATTEMPTS - 1}


def test_a_client_without_retries_asks_once(own_sandbox: Callable[..., Sandbox], tmp_path: Path) -> None:
    box, log = _faulty(own_sandbox, tmp_path, "503=1")
    core: Any = client.CoreV1Api(kube.api_client(box.kubeconfig, retrying=False))
    with pytest.raises(ApiException):
        core.read_namespace("default")
    assert len(_injected(log)) == 1  # urllib3's own Retry-After resends are off too
