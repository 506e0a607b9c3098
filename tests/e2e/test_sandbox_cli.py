"""``xpchaos sandbox up/status/down`` as a user runs them, in separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tests.sandbox.api.http import Http
from tests.support import sandboxes
from tests.support.commands import xpchaos
from tests.support.paths import ROOT
from tests.support.sandboxes import Sandbox
from xpchaos.run import sandbox_process as sp


def test_up_detach_json_status_reuse_and_down(tmp_path: Path) -> None:
    state = str(tmp_path / "sb")
    up = xpchaos("sandbox", "up", "--detach", "--output", "json", "--state-dir", state)
    assert up.returncode == 0, up.stderr
    doc = json.loads(up.stdout)
    assert set(doc) == {"api", "kubeconfig", "dns", "target"} and doc["api"].startswith("https://127.0.0.1:")
    assert oct(os.stat(doc["kubeconfig"]).st_mode & 0o777) == "0o600"
    try:
        again = xpchaos("sandbox", "up", "--detach", "--output", "json", "--state-dir", state)
        assert again.returncode == 0 and json.loads(again.stdout) == doc  # reused, not a second server
        status = xpchaos("sandbox", "status", "--output", "json", "--state-dir", state)
        assert status.returncode == 0 and json.loads(status.stdout)["running"] is True
        http = Http(Sandbox(doc["api"], doc["kubeconfig"], Path(state)))
        assert http.ok(http.get("/api/v1/namespaces/default"))["metadata"]["name"] == "default"
    finally:
        down = xpchaos("sandbox", "down", "--state-dir", state)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert xpchaos("sandbox", "status", "--state-dir", state).returncode == 3
    second_down = xpchaos("sandbox", "down", "--state-dir", state)
    assert second_down.returncode == 0 and "No sandbox running" in second_down.stdout


def test_foreground_up_stops_on_sigint_and_cleans_its_state(tmp_path: Path) -> None:
    state = tmp_path / "fg"
    process = subprocess.Popen([sys.executable, "-m", "xpchaos", "sandbox", "up", "--output", "json",
                                "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        doc = json.loads(process.stdout.readline())  # printed once the server is ready
        assert sp.read_state(state) is not None
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        sp.stop(state)  # whatever happened above, leave no server behind
    assert not (state / sp.STATE_FILE).exists()
    assert doc["kubeconfig"] == str((state / "kubeconfig").resolve())


def test_down_ends_open_watch_streams(tmp_path: Path) -> None:
    state = tmp_path / "w"
    http = Http(sandboxes.start(state))
    connected, ended = threading.Event(), threading.Event()

    def watch() -> None:
        # from resourceVersion 1 the backlog (the initial namespaces) arrives at once: proof of connection
        for _ in http.watch("/api/v1/namespaces", resourceVersion="1", timeoutSeconds=600):
            connected.set()
        ended.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert connected.wait(10)
    assert sp.stop(state) is not None
    assert ended.wait(10), "the watch stream stayed open after the sandbox stopped"


@pytest.mark.parametrize("args", [
    ["sandbox", "up", "--api-port", "70000"],
    ["sandbox", "up", "--output", "yaml"],
    ["sandbox", "up", "--profile", "nope"],
    ["sandbox", "up", "--timing", "detection=abc"],
    ["sandbox", "up", "--timing", "nope=1"],
    ["sandbox", "up", "--crossplane", "v3"],
    ["sandbox", "up", "--dns-server", "x", "--tsig-key", "README.md"],
    ["sandbox", "up", "--dns-server", "127.0.0.1:53"],
    ["sandbox", "up", "--dns-server", "localhost:53", "--tsig-key", "README.md"],
    ["sandbox", "up", "--dns-server", "127.0.0.1:99999", "--tsig-key", "README.md"],
    ["sandbox", "up", "--timing", "detection=-5"],
    ["sandbox", "up", "--timing", "dns_ttl=1.5"],
    ["sandbox", "up", "--timing", "health_threshold=2.5"],
    ["sandbox", "up", "--dns", "nope"],
    ["sandbox", "nonsense"],
])
def test_bad_arguments_exit_2_with_one_clear_line(args: list[str], tmp_path: Path) -> None:
    result = xpchaos(*args, "--state-dir", str(tmp_path / "never")) if args[1] == "up" else xpchaos(*args)
    assert result.returncode == 2
    assert "Error:" in result.stderr
    assert not (tmp_path / "never").exists()


def test_reuse_refuses_options_that_differ_from_the_running_sandbox(tmp_path: Path) -> None:
    state = str(tmp_path / "sb")
    up = xpchaos("sandbox", "up", "--detach", "--profile", "stock", "--speed", "fast", "--state-dir", state)
    assert up.returncode == 0, up.stderr
    try:
        assert "profile     stock (speed fast, Crossplane v1)" in up.stdout
        same = xpchaos("sandbox", "up", "--detach", "--profile", "stock", "--state-dir", state)
        assert same.returncode == 0 and "reused" in same.stdout
        for args, needle in ((["--profile", "blueprint"], "--profile stock"), (["--speed", "real"], "--speed fast"),
                             (["--timing", "detection=5"], "--timings applies only when starting")):
            other = xpchaos("sandbox", "up", "--detach", *args, "--state-dir", state)
            assert other.returncode == 2 and needle in other.stderr, other.stderr
        status = xpchaos("sandbox", "status", "--state-dir", state)
        assert status.returncode == 0 and "stock (speed fast" in status.stdout
    finally:
        xpchaos("sandbox", "down", "--state-dir", state)


def test_a_sandbox_that_refuses_its_arguments_is_reported_at_once(tmp_path: Path) -> None:
    """Past the CLI's own checks, the sandbox's refusal comes back as one line with exit code 2."""
    with pytest.raises(sp.SandboxError) as refused:
        sp.start(tmp_path / "sb", extra_args=["--profile", "stock", "--timing", "detection=abc"], timeout=30)
    assert refused.value.exit_code == 2
    assert str(refused.value) == "cannot start: --timing 'detection=abc': 'abc' is not a number of seconds"


def test_the_cli_knows_the_sandboxs_timings(tmp_path: Path) -> None:
    """The harness keeps no list: it asks the sandbox process (``python -m xpchaos.sandbox timings``)."""
    known = sp.timing_names()
    assert known["dns_ttl"] == known["health_threshold"] == "whole seconds"
    assert known["health_interval"] == known["dns_interval"] == "seconds"
    with sandboxes.running(tmp_path / "sb", "--profile", "stock") as box:
        assert box.target_path is not None
        target = yaml.safe_load(box.target_path.read_text())
    assert set(target["sandbox"]["timings"]) <= set(known) and "mr_poll" in target["sandbox"]["timings"]


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with sandboxes.running(tmp_path / "first") as box:
        port = box.api.rsplit(":", 1)[1]
        result = xpchaos("sandbox", "up", "--detach", "--api-port", port, "--state-dir", str(tmp_path / "second"))
        assert result.returncode == 2  # the port asked for is taken: refused, like any bad argument
        assert "address already in use" in result.stderr.lower()
        assert not (tmp_path / "second" / "state.json").exists()
