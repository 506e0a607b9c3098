"""``xpchaos discover``: a target written from a live cluster (``xpchaos.run.discover``), or the walk as a tree.

Exit codes: 0 written, 2 something it cannot follow or bad input (one line on stderr).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from kubernetes import config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from pydantic import ValidationError

from xpchaos.cli.output import errors
from xpchaos.core import access, kube
from xpchaos.core.target_model import DnsRecord, Nameserver
from xpchaos.run import discover as walk


def _kubeconfig() -> str | None:
    """The kubeconfig the client reads, as an absolute path to write into the target (one $KUBECONFIG file)."""
    path = os.environ.get("KUBECONFIG", "")
    return str(Path(path).resolve()) if path and os.pathsep not in path else None


def _context(kubeconfig: str | None, context: str | None) -> str:
    try:
        _contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, OSError) as exc:
        raise walk.DiscoverError(f"--context: cannot read the kubeconfig: {exc}") from None
    if context:
        names = [c["name"] for c in _contexts or []]
        if context not in names:
            raise walk.DiscoverError(f"--context {context}: no such context in the kubeconfig (it has: "
                                     f"{', '.join(names) or 'none'})")
        return context
    if not active:
        raise walk.DiscoverError("--context: the kubeconfig has no current context; name one with --context")
    return str(active["name"])


def _nameservers(values: tuple[str, ...]) -> tuple[Nameserver, ...]:
    try:  # read as a target's dns[].nameservers are
        return DnsRecord.model_validate({"name": "x", "nameservers": list(values), "primary": [],
                                         "secondary": []}).nameservers
    except ValidationError as exc:
        raise walk.DiscoverError(f"--nameserver: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except ValueError:
        return str(exc.reason)


@click.command()
@click.option("--xr", "xrs", multiple=True, metavar="PLURAL.GROUP/NAME",
              help="An XR or claim to start from (several allowed), e.g. xglobaldatabases.database.example.org/db.")
@click.option("-l", "--selector", default=None, help="A label selector over --kind: every object it selects.")
@click.option("--kind", default=None, metavar="PLURAL.GROUP", help="The XR or claim kind -l selects from.")
@click.option("-n", "--namespace", default=None, help="The namespace of namespaced XRs or claims.")
@click.option("--context", default=None, help="The kube context (default: the kubeconfig's current one).")
@click.option("--nameserver", "nameservers", multiple=True, metavar="HOST[:PORT]",
              help="An authoritative nameserver of the records, an address or a hostname (several allowed); asked "
                   "which side answers now.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the target here (default: stdout).")
@click.option("--tree", is_flag=True, help="Print the walk as a tree with SYNCED and READY instead of a target.")
def discover(xrs: tuple[str, ...], selector: str | None, kind: str | None, namespace: str | None,
             context: str | None, nameservers: tuple[str, ...], output: Path | None, tree: bool) -> None:
    """Write a target from a live cluster: the XRs (claims followed to them), the managed resources they compose,
    per cloud the ProviderConfigs, credential sources and provider pods, and the DNS records they compose.
    What it had to guess is marked "# REVIEW:".

    Reads only (GET and LIST); changes nothing. Exit codes: 0 written, 2 cannot follow or bad input.
    """
    if bool(selector) != bool(kind):
        raise walk.DiscoverError("-l/--kind: give both, e.g. -l team=payments --kind xglobaldatabases.example.org")
    if not xrs and not selector:
        raise walk.DiscoverError("--xr: name at least one XR or claim (--xr PLURAL.GROUP/NAME), or -l with --kind")
    found_ns = _nameservers(nameservers)
    kubeconfig = _kubeconfig()
    current = _context(kubeconfig, context)
    api = kube.api_client(kubeconfig, current)
    try:
        access.require(api, None, ["discover"], "xpchaos discover")
        roots = walk.roots_from_names(api, xrs, namespace)
        if selector and kind:
            roots += walk.roots_from_selector(api, kind, selector, namespace)
        if not roots:
            raise walk.DiscoverError(f"-l {selector!r}: selects no {kind}; check the labels with kubectl get "
                                     "--show-labels")
        found = walk.walk(api, roots, current, kubeconfig, found_ns,
                          progress=lambda line: errors.print(line, highlight=False))
    except ApiException as exc:  # a 403 names the verb and resource denied: what the Role must grant
        if exc.status == 403:
            raise access.refused_call(exc, "xpchaos discover") from None
        raise walk.DiscoverError(f"--context {current}: the API server answered {exc.status}: "
                                 f"{_message(exc)}") from None
    finally:
        api.close()
    text = walk.tree_text(found) if tree else walk.target_text(found)
    if output:
        output.write_text(text)
        errors.print(f"wrote {output}: {len(found.composites)} composites", highlight=False)
    else:
        click.echo(text, nl=False)


def register(group: click.Group) -> None:
    """Add ``discover`` to the ``xpchaos`` command group."""
    group.add_command(discover)
