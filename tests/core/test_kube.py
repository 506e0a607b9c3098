"""The kube client factory: what its clients' sockets are set to, read back from a real connection to the sandbox."""

from __future__ import annotations

import socket

import pytest
from kubernetes import client

from tests.support.sandboxes import Sandbox
from xpchaos.core import kube


@pytest.mark.skipif(not hasattr(socket, "TCP_KEEPIDLE"), reason="Linux names the keepalive options this way")
def test_the_clients_connections_have_tcp_keepalive(sandbox: Sandbox) -> None:
    api = kube.api_client(sandbox.kubeconfig)
    try:
        client.CoreV1Api(api).list_namespace()  # opens a connection and gives it back to the pool
        pool = api.rest_client.pool_manager.connection_from_url(api.configuration.host)
        [conn] = [c for c in pool.pool.queue if c is not None and c.sock is not None]
        sock = conn.sock
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert (sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)) == (
            kube.KEEPALIVE_IDLE, kube.KEEPALIVE_INTERVAL, kube.KEEPALIVE_COUNT)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1  # urllib3's own default is kept
    finally:
        api.close()
