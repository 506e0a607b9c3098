"""``xpchaos rbac``: the least-privilege RBAC manifests for a target (``xpchaos.run.rbac_manifest``).

Exit codes: 0 written, 2 bad input (an invalid target file; one line on stderr).
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from kubernetes.client.rest import ApiException
from urllib3.exceptions import MaxRetryError

from xpchaos.core import access, kube
from xpchaos.core import target as targets
from xpchaos.core.errors import InputError
from xpchaos.run import rbac_manifest


def load(path: Path | None) -> targets.Target:
    """A target file, or the ConfigMap manifest that carries one (``data: {target.yaml: ...}``, as deploy/ has)."""
    if path is not None and path.is_file():
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError:
            docs = []
        carried = [d for d in docs if d.get("kind") == "ConfigMap" and "target.yaml" in (d.get("data") or {})]
        if carried:
            return targets.parse(yaml.safe_load(carried[0]["data"]["target.yaml"]), path)
    return targets.load(path)


@click.command()
@click.option("--target", "target_path", type=click.Path(path_type=Path), default=None,
              help="Target file, or a ConfigMap manifest carrying one as data.target.yaml (default: xpchaos.yaml, "
                   "else the running sandbox's target).")
@click.option("--output", "-o", "output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the manifests to this file instead of stdout.")
@click.option("--offline", is_flag=True,
              help="Read only the target file: the managed kinds are those it lists (else also every managed kind "
                   "the cluster serves in the providers' families, from one LIST of CRDs).")
def rbac(target_path: Path | None, output: Path | None, offline: bool) -> None:
    """Print the least-privilege RBAC for a target: ClusterRoles, Roles and bindings for the ServiceAccounts
    xpchaos (runs, game days, gates) and xpchaos-reader (discover and preflight, read-only).

    Rendered from the same table that `xpchaos preflight` and every run check before acting, with the target's
    groups and their Crossplane v1/v2 twins. The managed kinds are those the target lists and every kind the
    cluster serves in the providers' families (a run resolves the composed resources from the XRs, and the blast
    radius lists every kind of a family); --offline reads no cluster.

    Apply with: xpchaos rbac --target xpchaos.yaml | kubectl apply -f -
    """
    target = load(target_path)
    text = rbac_manifest.render(target, None if offline else _family(target))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)


def _family(target: targets.Target) -> list[tuple[str, str]]:
    try:
        api = kube.client_for(target)
    except kube.ContextNotAllowed:
        raise
    except Exception as exc:  # an unreadable kubeconfig: name the problem, not its content
        raise InputError(f"{target.path}: cannot read its kubeconfig ({type(exc).__name__}); "
                         "or render from the file alone with --offline") from None
    try:
        return access.family_kinds(api, target)
    except (ApiException, MaxRetryError, OSError) as exc:
        raise InputError(f"{target.path}: cannot list the cluster's CRDs ({type(exc).__name__}); render from the "
                         "file alone with --offline") from None
    finally:
        api.close()


def register(group: click.Group) -> None:
    """Add ``rbac`` to the ``xpchaos`` command group."""
    group.add_command(rbac)
