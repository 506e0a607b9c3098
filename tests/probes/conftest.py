"""A private sandbox per test (fast timings), its Target loaded with xpchaos.core.target, faults made by hand."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.conftest import Sandbox
from tests.sim.conftest import TEST_TIMINGS
from xpchaos.core import target as targets
from xpchaos.probes.recorder import TimelineRecorder

INVALID_KEY = "[default]\naws_access_key_id = AKIAREVOKEDBYXPCHAOS\naws_secret_access_key = revoked\n"


@dataclass
class Cluster:
    sandbox: Sandbox
    target: targets.Target
    api: client.ApiClient

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def revoke_credentials(self) -> Callable[[], None]:
        """The fault, by hand: the AWS credential Secret's key replaced by a well-formed invalid one."""
        ref = self.target.provider("aws").credentials
        original = (self.core.read_namespaced_secret(ref.name, ref.namespace).data or {})[ref.key]
        self.core.patch_namespaced_secret(ref.name, ref.namespace,
                                          {"data": {ref.key: base64.b64encode(INVALID_KEY.encode()).decode()}})

        def restore() -> None:
            self.core.patch_namespaced_secret(ref.name, ref.namespace, {"data": {ref.key: original}})

        return restore


@pytest.fixture
def cluster_for(own_sandbox: Callable[..., Sandbox]) -> Callable[..., Cluster]:
    def start(profile: str, *extra: str) -> Cluster:
        args = ["--profile", profile, "--speed", "fast", *extra]
        for timing in TEST_TIMINGS:
            args += ["--timing", timing]
        sandbox = own_sandbox(*args)
        tgt = targets.load(sandbox.state_dir / "target.yaml")
        return Cluster(sandbox, tgt, config.new_client_from_config(config_file=sandbox.kubeconfig))

    return start


@pytest.fixture
def recorders() -> Iterator[Callable[..., TimelineRecorder]]:
    """Recorders stopped at teardown whatever the test did."""
    started: list[TimelineRecorder] = []

    def start(target: targets.Target, **options: object) -> TimelineRecorder:
        rec = TimelineRecorder(target, **options).start()  # type: ignore[arg-type]
        started.append(rec)
        return rec

    yield start
    for rec in started:
        rec.stop()


class Proxy:
    """A TCP forwarder we can cut: while down, live connections are closed and new ones are closed at once."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            upstream = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def retarget(tgt: targets.Target, tmp_path: Path, server: str) -> targets.Target:
    """A copy of the target file whose kubeconfig points the same cluster entry at ``server``."""
    import yaml

    kubeconfig = yaml.safe_load(Path(tgt.kubeconfig or "").read_text())
    for entry in kubeconfig["clusters"]:
        entry["cluster"]["server"] = server
    kube_path = tmp_path / f"kubeconfig-{len(list(tmp_path.iterdir()))}"
    kube_path.write_text(yaml.safe_dump(kubeconfig))
    doc = yaml.safe_load(tgt.path.read_text())
    doc["kubeconfig"] = str(kube_path)
    path = tmp_path / f"target-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return targets.load(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
