"""Start, find and stop a sandbox process, which the harness knows only by its state directory.

The sandbox runs as ``python -m xpchaos.sandbox serve`` in its own process; this module never imports it. The child
announces readiness on a pipe once its port is bound, so starting waits on a condition, not on a clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from xpchaos.core.errors import XpchaosError

DEFAULT_STATE_DIR = Path(".xpchaos/sandbox")
STATE_FILE = "state.json"
LOG_FILE = "sandbox.log"


class SandboxError(XpchaosError):
    """The sandbox could not be started or stopped; the message says what to do next."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # 2 when the sandbox refused its arguments


@dataclass(frozen=True)
class SandboxInfo:
    api: str
    kubeconfig: str
    dns: str | None
    target: str | None
    pid: int

    def public(self) -> dict[str, Any]:
        """The JSON document ``sandbox up --output json`` prints."""
        return {"api": self.api, "kubeconfig": self.kubeconfig, "dns": self.dns, "target": self.target}


def running_options(info: SandboxInfo) -> dict[str, str]:
    """profile, speed, crossplane, primary, platform and dns (mode) of a running sandbox, from its target file ({} for
    --profile none)."""
    if not info.target:
        return {}
    try:
        doc = yaml.safe_load(Path(info.target).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    sandbox = doc.get("sandbox") or {}
    options = {k: str(sandbox[k]) for k in ("profile", "speed", "crossplane", "primary") if k in sandbox}
    # the function mode's target names no dns mode (its file stays as it always was)
    return options | ({"platform": str(sandbox.get("platform", "seed")), "dns": str(sandbox.get("dns", "function"))}
                      if sandbox else {})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours has exited, even though kill(0) succeeds
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def _is_sandbox(pid: int) -> bool:
    """Guard against a recycled pid: only signal a process whose command line is a sandbox."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)
    return b"xpchaos.sandbox" in cmdline and b"serve" in cmdline


def read_state(state_dir: Path) -> SandboxInfo | None:
    """The running sandbox in ``state_dir``, or None (a stale state file is removed)."""
    path = state_dir / STATE_FILE
    try:
        doc = json.loads(path.read_text())
        info = SandboxInfo(doc["api"], doc["kubeconfig"], doc.get("dns"), doc.get("target"), int(doc["pid"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not (_alive(info.pid) and _is_sandbox(info.pid)):
        path.unlink(missing_ok=True)
        return None
    return info


def start(state_dir: Path, api_port: int = 0, dns_port: int = 0, detach: bool = True,
          timeout: float = 30.0, extra_args: list[str] | None = None) -> tuple[SandboxInfo, subprocess.Popen[bytes]]:
    state_dir.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "xpchaos.sandbox", "serve", "--state-dir", str(state_dir), "--api-port",
               str(api_port), "--dns-port", str(dns_port), "--ready-fd", str(write_fd), *(extra_args or [])]
    log = open(state_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(write_fd,),
                                 start_new_session=detach)
    finally:
        os.close(write_fd)
        log.close()
    try:
        line = _read_ready_line(read_fd, child, timeout)
    except BaseException:  # interrupted while waiting: leave no orphan server behind
        child.terminate()
        raise
    finally:
        os.close(read_fd)
    if line is None:
        if child.poll() is None:
            child.terminate()
            raise SandboxError(f"the sandbox did not start within {timeout:.0f} s; see {state_dir / LOG_FILE}:\n"
                               + _log_tail(state_dir))
        refused = _log_tail(state_dir, 1).removeprefix("sandbox: ")
        raise SandboxError(refused if child.returncode == 2 else
                           f"the sandbox exited with code {child.returncode}; see {state_dir / LOG_FILE}:\n"
                           + _log_tail(state_dir), exit_code=2 if child.returncode == 2 else 1)
    doc = json.loads(line)
    return SandboxInfo(doc["api"], doc["kubeconfig"], doc.get("dns"), doc.get("target"), int(doc["pid"])), child


def timing_names(timeout: float = 30.0) -> dict[str, str]:
    """The timings the sandbox takes (``--timing NAME=VALUE``), each with its unit ("seconds" or "whole seconds"),
    as the sandbox process itself lists them (``python -m xpchaos.sandbox timings``): the harness keeps no copy."""
    names = _ask("timings", timeout)
    return {str(k): str(v) for k, v in names.items()}


def dns_modes(timeout: float = 30.0) -> list[str]:
    """The modes ``--dns`` takes, as the sandbox process lists them (``python -m xpchaos.sandbox dns-modes``)."""
    return [str(mode) for mode in _ask("dns-modes", timeout)]


def _ask(question: str, timeout: float) -> Any:
    """The JSON the sandbox's module prints for ``question``, without starting a server."""
    try:
        answer = subprocess.run([sys.executable, "-m", "xpchaos.sandbox", question], capture_output=True, text=True,
                                timeout=timeout, check=True, stdin=subprocess.DEVNULL)
        return json.loads(answer.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise SandboxError(f"cannot ask the sandbox for its {question} ({type(exc).__name__}); is xpchaos "
                           "installed with its sandbox?") from None


def _read_ready_line(fd: int, child: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The child's ready line; None when the time runs out or the pipe closes without one (the child is exiting)."""
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:  # closed without a ready line: let the child finish so its exit code is known
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
            return None
        buffer += chunk
        if b"\n" in buffer:
            return buffer.split(b"\n", 1)[0].decode()
    return None


def _log_tail(state_dir: Path, lines: int = 15) -> str:
    try:
        return "\n".join((state_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(state_dir: Path, timeout: float = 15.0) -> SandboxInfo | None:
    """Stop the sandbox in ``state_dir`` (SIGTERM, then SIGKILL after ``timeout``); None if none ran."""
    info = read_state(state_dir)
    if info is None:
        return None
    os.kill(info.pid, signal.SIGTERM)
    if not wait_gone(info.pid, timeout):
        os.kill(info.pid, signal.SIGKILL)
        wait_gone(info.pid, 5.0)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return info


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait for a process that is not our child to exit (no handle to wait on, so check at 20 ms steps)."""
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
