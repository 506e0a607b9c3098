"""The kube client factory: every harness call to a cluster goes through a client made here."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from urllib3.connection import HTTPConnection

from xpchaos import __version__
from xpchaos.core import api_retry
from xpchaos.core.errors import InputError, XpchaosError

if TYPE_CHECKING:
    from xpchaos.core.target import Target

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


IN_CLUSTER = "in-cluster"  # the context name of a pod's own ServiceAccount, for allowedContexts
USER_AGENT = f"xpchaos/{__version__}"  # how the harness shows in a cluster's audit log
# TCP keepalive on every connection to the API server. A watch is one connection that may carry nothing for a
# minute; when the peer goes away without a word (a node, load balancer or API server replaced, a NAT entry
# dropped), no FIN or RST ever comes and, without probes, the kernel keeps the socket for good. Probing after
# 30 s of silence, every 10 s, 3 unanswered: a dead peer ends the read within about a minute, whatever the read
# timeout. A half-open connection whose probes something in between still answers is the recorder's read
# timeout's job (``xpchaos.probes.recorder``).
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 30, 10, 3


def keepalive_options() -> list[tuple[int, int, int]]:
    """urllib3 ``socket_options``: its defaults (TCP_NODELAY; a list given replaces them) plus keepalive, with the
    options this platform has (macOS names the idle time TCP_KEEPALIVE)."""
    options = [*HTTPConnection.default_socket_options, (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    idle = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    for option, value in ((idle, KEEPALIVE_IDLE), (getattr(socket, "TCP_KEEPINTVL", None), KEEPALIVE_INTERVAL),
                          (getattr(socket, "TCP_KEEPCNT", None), KEEPALIVE_COUNT)):
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    return options


def in_cluster(kubeconfig: str | None = None) -> bool:
    """No kubeconfig anywhere, inside a pod: use its ServiceAccount, as kubectl does."""
    return (not kubeconfig and not os.environ.get("KUBECONFIG")
            and not Path(config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION).expanduser().exists()
            and bool(os.environ.get("KUBERNETES_SERVICE_HOST")))


def api_client(kubeconfig: str | None = None, context: str | None = None, retrying: bool = True) -> client.ApiClient:
    """A client for ``context`` in ``kubeconfig`` (defaults as kubectl: $KUBECONFIG, current context; in a pod
    without a kubeconfig, its ServiceAccount). It names itself ``xpchaos/<version>``, keeps its connections alive
    with TCP keepalive (``KEEPALIVE_IDLE``) and retries what the server asks to be retried
    (``xpchaos.core.api_retry``)."""
    if in_cluster(kubeconfig):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        api = client.ApiClient(configuration)
    else:
        api = config.new_client_from_config(config_file=kubeconfig, context=context)
    api.user_agent = USER_AGENT
    api.configuration.socket_options = keepalive_options()  # read when the pool is made, just below
    api_retry.no_hidden_retries(api)
    return api_retry.install(api) if retrying else api


class ContextNotAllowed(InputError):
    """The kube context is not one the target allows: refused before any call to the cluster."""


def current_context(target: Target) -> str | None:
    """The context a client for ``target`` would use: its own, else the kubeconfig's current one."""
    if target.context:
        return target.context
    if in_cluster(target.kubeconfig):
        return IN_CLUSTER
    _contexts, active = config.list_kube_config_contexts(config_file=target.kubeconfig)
    return str(active["name"]) if active else None


def check_context(target: Target) -> None:
    """The guard before any change to a cluster (``client_for`` and every command that changes one call it before
    their first request). Refuses (``ContextNotAllowed``) a target that does not say which contexts it may change
    (no ``allowedContexts``, and not ``allowAnyContext: true`` in so many words), and a context outside its
    ``allowedContexts``. Reads only the kubeconfig, never the cluster."""
    if target.allow_any_context:
        return
    if not target.allowed_contexts:
        raise ContextNotAllowed(f"{target.path}: allowedContexts: missing; a target that can change a cluster must "
                                f"list the kube contexts it may use, e.g. allowedContexts: [{_example(target)}] "
                                "(or write allowAnyContext: true to allow every context); nothing was changed")
    context = current_context(target)
    if context not in target.allowed_contexts:
        raise ContextNotAllowed(f"{target.path}: kube context {context!r} is not in allowedContexts "
                                f"({', '.join(target.allowed_contexts)}); nothing was changed")


def _example(target: Target) -> str:
    """The context the target would use, to show in the fix (a context name is not a secret)."""
    try:
        return current_context(target) or "my-cluster"
    except Exception:  # no readable kubeconfig: the example is only an example
        return "my-cluster"


def client_for(target: Target) -> client.ApiClient:
    """The target's client, after the allowed-contexts check."""
    check_context(target)
    return api_client(target.kubeconfig, target.context)


def get_table(api: client.ApiClient, path: str) -> dict[str, Any]:
    """GET ``path`` as a server-side Table: the same columns ``kubectl get`` prints."""
    method, url, headers, body, _ = api.param_serialize(
        "GET", path, header_params={"Accept": TABLE_ACCEPT}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    assert response.data is not None
    return json.loads(response.data)


class Unreachable(XpchaosError, ConnectionError):
    """The target's cluster cannot be reached (or its kubeconfig read); one line, nothing was changed."""


def check_reachable(target: Target, timeout: float = 5.0) -> None:
    """One GET /version, without retries: the cluster answers, or ``Unreachable`` says why in one line."""
    try:
        api = api_client(target.kubeconfig, target.context, retrying=False)
    except Exception as exc:  # a kubeconfig that is missing or not one: name it, never its content
        raise Unreachable(f"{target.path}: cannot read the kubeconfig {target.kubeconfig or '$KUBECONFIG'} "
                          f"({type(exc).__name__})") from None
    try:
        api_retry.no_hidden_retries(api, connection_retries=0)
        client.VersionApi(api).get_code(_request_timeout=(timeout, timeout))
    except ApiException:
        return  # it answered (whatever it said): reachable; what the run needs is checked by the run
    except Exception as exc:
        raise Unreachable(f"{target.path}: the cluster at {api.configuration.host} does not answer "
                          f"({type(exc).__name__}); nothing was changed") from None
    finally:
        api.close()
