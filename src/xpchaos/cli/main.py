"""The ``xpchaos`` command line."""

from __future__ import annotations

import ipaddress
import json
import re
import signal
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from xpchaos import __version__
from xpchaos.actions import _common as actions_common
from xpchaos.actions import restore as restore_module
from xpchaos.cli import demo as demo_module
from xpchaos.cli.discover import register as register_discover
from xpchaos.cli.gameday import register as register_gameday
from xpchaos.cli.gate import register as register_gate
from xpchaos.cli.history import register as register_history
from xpchaos.cli.init import register as register_init
from xpchaos.cli.output import Commands, console, errors, fail
from xpchaos.cli.preflight import register as register_preflight
from xpchaos.cli.rbac import register as register_rbac
from xpchaos.cli.report import register as register_report
from xpchaos.cli.run import register as register_run
from xpchaos.core import kube, lease
from xpchaos.core import target as target_module
from xpchaos.core.undo_log import UndoLog, UndoLogError
from xpchaos.run import runner
from xpchaos.run import sandbox_process as sp
from xpchaos.steps import catalogue

STATE_DIR_OPTION = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=sp.DEFAULT_STATE_DIR,
    show_default=True, help="Where the sandbox keeps its kubeconfig, state and log.",
)
OUTPUT_OPTION = click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="Human-readable text, or one JSON object on stdout.")


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="xpchaos")
def main() -> None:
    """xpchaos proves that losing a cloud provider moves traffic to the other one within the SLO.

    With no cluster at hand, start the sandbox (a simulated Crossplane management cluster on 127.0.0.1) and
    point any Kubernetes client at its kubeconfig:

    \b
      xpchaos sandbox up --detach
      export KUBECONFIG=.xpchaos/sandbox/kubeconfig
      kubectl get namespaces
      xpchaos sandbox down
    """


@main.command()
@STATE_DIR_OPTION
@click.option("--transcript", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("reports/demo/sandbox-demo.txt"), show_default=True,
              help="Where to write what the demo printed (the run's journal.json and report.txt go beside it).")
@click.option("--speed", type=click.Choice(["real", "fast"]), default="real", show_default=True,
              help="Timings of the sandbox when the demo starts one: real (a failover in about 30 s) or fast.")
def demo(state_dir: Path, transcript: Path, speed: str) -> None:
    """Run the main job on the sandbox: show the platform, run the credential-revocation experiment against it
    with its timeline live, and report the verdict and recovery times (the sandbox keeps running).

    Exit code: the run's (0 resilient, 1 not resilient, 2 could not decide).
    """
    try:  # bad input (runner.ExperimentError): one line and exit code 2, from the command group
        sys.exit(demo_module.run(state_dir, transcript, speed))
    except sp.SandboxError as exc:
        fail(str(exc), exc.exit_code)
    except runner.RunInterrupted:
        errors.print("interrupted: the experiment's rollbacks ran", highlight=False)
        sys.exit(130)


@main.group()
def sandbox() -> None:
    """Start, inspect and stop the local sandbox cluster."""


def _print_info(info: sp.SandboxInfo, output: str, headline: str) -> None:
    if output == "json":
        click.echo(json.dumps(info.public()))
        return
    console.print(f"[green]{headline}[/green]")
    console.print(f"  API         {info.api}")
    console.print(f"  kubeconfig  {info.kubeconfig}")
    console.print(f"  DNS         {info.dns or '-'}")
    console.print(f"  target      {info.target or '-'}")
    options = sp.running_options(info)
    if options:
        console.print(f"  profile     {options.get('profile')} (speed {options.get('speed')}, Crossplane "
                      f"{options.get('crossplane')})")
    console.print(f"  pid         {info.pid}")
    console.print(f"\n  export KUBECONFIG={info.kubeconfig}")


@sandbox.command("up")
@click.option("--api-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the Kubernetes API (0 picks a free one).")
@click.option("--dns-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the sandbox's DNS server, UDP and TCP (0 picks a free one).")
@STATE_DIR_OPTION
@click.option("--profile", type=click.Choice(["stock", "blueprint", "none"]), default="blueprint", show_default=True,
              help="stock: plain Crossplane, no failover logic; blueprint: the failover design of the seed; "
                   "none: the bare Kubernetes API.")
@click.option("--speed", type=click.Choice(["fast", "real"]), default="real", show_default=True,
              help="fast: failover in seconds (tests); real: tens of seconds, within the 90 s SLO (demos).")
@click.option("--timing", "timings", multiple=True, metavar="NAME=SECONDS",
              help="Override one timing, e.g. mr_poll, detection, dns_ttl, health_interval (the sandbox's list: "
                   "`python -m xpchaos.sandbox timings`). Repeatable.")
@click.option("--dns", "dns_mode", metavar="MODE", default=None,
              help="How DNS moves on a failover: function, provider, route53-failover, external-dns or "
                   "traffic-manager (sandbox/README.md, 'DNS modes'; default: the platform file's, else function).")
@click.option("--crossplane", type=click.Choice(["v1", "v2"]), default="v1", show_default=True,
              help="Crossplane generation: v1 (cluster-scoped XR and MRs, ProviderConfig) or v2 (namespaced XR "
                   "and MRs in the .m. groups, ClusterProviderConfig).")
@click.option("--primary", type=click.Choice(["aws", "azure"]), default="aws", show_default=True,
              help="The cloud that serves first (the XR's primaryProvider); the other one takes over when it is "
                   "lost. azure: fail over from Azure to AWS.")
@click.option("--platform", "platform_choice", default="seed", show_default=True, metavar="seed|realistic|FILE",
              help="The simulated platform: seed (one XR, the project's own), realistic (twenty XRs, provider "
                   "families, IRSA, post-DNAT CNI, noise) or a SandboxPlatform YAML file (sandbox/README.md).")
@click.option("--dns-server", metavar="IP:PORT", help="Send the failover's RFC 2136 updates to this server "
                                                       "(e.g. a BIND9) instead of the sandbox's own.")
@click.option("--tsig-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="BIND key file (tsig-keygen format) allowed to update the zone on --dns-server.")
@click.option("--detach", "-d", is_flag=True, help="Return once the sandbox is ready and leave it running.")
@OUTPUT_OPTION
@click.pass_context
def sandbox_up(ctx: click.Context, api_port: int, dns_port: int, state_dir: Path, profile: str, speed: str,
               timings: tuple[str, ...], crossplane: str, primary: str, platform_choice: str, dns_server: str | None,
               tsig_key: Path | None, dns_mode: str | None, detach: bool, output: str) -> None:
    """Start the sandbox and print where to reach it once it is ready.

    Without --detach it runs in the foreground until Ctrl-C. With --detach it keeps running in the background;
    if one already runs in STATE_DIR with the options asked for, that one is reported and reused.
    """
    if bool(dns_server) != bool(tsig_key):
        raise click.UsageError("--dns-server and --tsig-key go together")
    _check_timings(timings)
    _check_dns_mode(dns_mode)
    if dns_server:
        _check_dns_server(dns_server)
    running = sp.read_state(state_dir)
    if running is not None:
        if not detach:
            raise click.UsageError(f"a sandbox already runs in {state_dir} (pid {running.pid}); "
                                   "use it, or stop it with `xpchaos sandbox down`")
        _check_reuse(ctx, running, state_dir, {"profile": profile, "speed": speed, "crossplane": crossplane,
                                               "primary": primary, "platform_choice": _platform_name(platform_choice),
                                               "dns_mode": dns_mode or "function"})
        _print_info(running, output, "Sandbox already running (reused)")
        return
    extra = ["--profile", profile, "--speed", speed, "--primary", primary, "--platform",
             platform_choice if platform_choice in ("seed", "realistic") else str(Path(platform_choice).resolve())]
    if ctx.get_parameter_source("crossplane") is not click.core.ParameterSource.DEFAULT:
        extra += ["--crossplane", crossplane]  # else the platform file's own generation (v1 when it names none)
    for timing in timings:
        extra += ["--timing", timing]
    if dns_mode:
        extra += ["--dns", dns_mode]
    if dns_server and tsig_key:
        extra += ["--dns-server", dns_server, "--tsig-key", str(tsig_key.resolve())]
    try:
        info, child = sp.start(state_dir, api_port, dns_port, detach=detach, extra_args=extra)
    except sp.SandboxError as exc:
        fail(str(exc), exc.exit_code)
    if not detach:
        # installed before the ready line is printed, so a signal right after it still reaches the child
        def forward(signum: int, _frame: Any) -> None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
    _print_info(info, output, "Sandbox ready")
    if detach:
        return
    errors.print("\n  Running in the foreground; Ctrl-C stops it.")  # stderr: stdout may be JSON
    sys.exit(child.wait())


def _check_dns_server(dns_server: str) -> None:
    host, _, port = dns_server.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
        valid = port.isdigit() and 0 < int(port) < 65536
    except ValueError:
        valid = False
    if not valid:
        raise click.BadParameter(f"{dns_server!r} is not IP:PORT (an address, not a name: 127.0.0.1:53, [::1]:53)",
                                 param_hint="--dns-server")


def _platform_name(choice: str) -> str:
    """The name a running sandbox records for ``--platform``: a preset's, or the file's ``metadata.name``."""
    if choice in ("seed", "realistic"):
        return choice
    try:
        doc = yaml.safe_load(Path(choice).read_text())
        return str(doc["metadata"]["name"])
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return choice  # the sandbox refuses it when it starts one; reuse compares the text


def _check_reuse(ctx: click.Context, running: sp.SandboxInfo, state_dir: Path, wanted: dict[str, str]) -> None:
    """Reuse only what was asked for: an option given explicitly must match the running sandbox."""
    have = sp.running_options(running)
    for name, value in wanted.items():
        given = ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        option = name.removesuffix("_choice").removesuffix("_mode")
        if given and have.get(option, "none" if name == "profile" else None) not in (value, None):
            raise click.UsageError(f"the sandbox running in {state_dir} has --{option} {have.get(option, 'none')}; "
                                   f"stop it with `xpchaos sandbox down` to start one with --{option} {value}")
    for name in ("timings", "dns_server", "tsig_key", "api_port", "dns_port"):
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError(f"a sandbox already runs in {state_dir}; --{name.replace('_', '-')} applies only "
                                   "when starting one (stop it first with `xpchaos sandbox down`)")


def _check_timings(timings: tuple[str, ...]) -> None:
    """Refuse a bad --timing before anything starts, by the names and units the sandbox lists (it owns them)."""
    if not timings:
        return
    try:
        known = sp.timing_names()
    except sp.SandboxError as exc:
        fail(str(exc))
    for item in timings:
        name, _, value = item.partition("=")
        try:
            ok = name in known and float(value) >= 0 and (known[name] != "whole seconds" or float(value).is_integer())
        except ValueError:
            ok = False
        if not ok:
            whole = ", ".join(n for n, unit in known.items() if unit == "whole seconds")
            raise click.BadParameter(f"{item!r}: expected NAME=SECONDS (>= 0; whole seconds for {whole}) with NAME "
                                     f"one of {', '.join(known)}", param_hint="--timing")


def _check_dns_mode(mode: str | None) -> None:
    """Refuse a --dns mode the sandbox does not know before anything starts (it lists them; the harness keeps no
    copy)."""
    if mode is None:
        return
    try:
        known = sp.dns_modes()
    except sp.SandboxError as exc:
        fail(str(exc))
    if mode not in known:
        raise click.BadParameter(f"{mode!r}: choose one of {', '.join(known)}", param_hint="--dns")


@sandbox.command("down")
@STATE_DIR_OPTION
def sandbox_down(state_dir: Path) -> None:
    """Stop the sandbox running in STATE_DIR (harmless when none runs)."""
    info = sp.stop(state_dir)
    if info is None:
        console.print(f"No sandbox running in {state_dir}.")
    else:
        console.print(f"Sandbox stopped (pid {info.pid}).")


@sandbox.command("status")
@STATE_DIR_OPTION
@OUTPUT_OPTION
def sandbox_status(state_dir: Path, output: str) -> None:
    """Say whether a sandbox runs in STATE_DIR and where. Exit code 3 when none runs."""
    info = sp.read_state(state_dir)
    if info is None:
        if output == "json":
            click.echo(json.dumps({"running": False}))
        else:
            console.print(f"No sandbox running in {state_dir}.")
        sys.exit(3)
    if output == "json":
        click.echo(json.dumps({"running": True, "pid": info.pid, **info.public()}))
    else:
        _print_info(info, output, "Sandbox running")


_ACCOUNT = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)/([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
                      r"[a-z0-9])?)*)$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@sandbox.command("kubeconfig")
@click.option("--serviceaccount", "account", required=True, metavar="NS/NAME",
              help="The ServiceAccount whose identity the kubeconfig carries, e.g. xpchaos/xpchaos.")
@STATE_DIR_OPTION
@click.option("--duration", default="24h", show_default=True, metavar="DURATION",
              help="How long the token is valid: 10m or more, e.g. 90m, 2h, 1h30m (the sandbox's tokens also end "
                   "when it stops).")
@click.option("--output", "-o", "output_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: STATE_DIR/kubeconfig-NS-NAME).")
def sandbox_kubeconfig(account: str, state_dir: Path, duration: str, output_file: Path | None) -> None:
    """Write a kubeconfig that acts as a ServiceAccount of the running sandbox, with a token from the
    TokenRequest API (what `kubectl create token` asks for), so RBAC can be checked as that identity.

    The file is owner-only; the token never reaches the terminal.
    """
    match = _ACCOUNT.match(account)
    if match is None or len(match.group(1)) > 63 or len(match.group(3)) > 253:
        fail(f"--serviceaccount {account!r}: expected NAMESPACE/NAME with lowercase DNS names, e.g. "
              "xpchaos/xpchaos")
    namespace, name = match.group(1), match.group(3)
    seconds = _token_seconds(duration)
    info = sp.read_state(state_dir)
    if info is None:
        fail(f"--state-dir {state_dir}: no sandbox runs there; start one with `xpchaos sandbox up --detach`")
    path = output_file or state_dir / f"kubeconfig-{namespace}-{name}"
    if not path.parent.is_dir():
        fail(f"--output {path}: the folder {path.parent} does not exist; create it or write elsewhere")
    token, expires = _request_token(info.kubeconfig, namespace, name, seconds)
    _write_kubeconfig(path, info.kubeconfig, f"system:serviceaccount:{namespace}:{name}", namespace, token)
    console.print(f"Kubeconfig for system:serviceaccount:{namespace}:{name} (token valid until {expires}): {path}",
                  highlight=False)
    console.print(f"\n  export KUBECONFIG={path}", highlight=False)


def _token_seconds(duration: str) -> int:
    match = _DURATION.match(duration.strip())
    if not duration.strip() or match is None:
        fail(f"--duration {duration!r}: expected hours, minutes and seconds such as 90m, 2h or 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 600:
        fail(f"--duration {duration!r}: a ServiceAccount token lasts at least 10 minutes (the API refuses less)")
    return total


def _request_token(kubeconfig: str, namespace: str, name: str, seconds: int) -> tuple[str, str]:
    """A token for the ServiceAccount from the sandbox's TokenRequest API, with the admin kubeconfig."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    api = kube.api_client(kubeconfig)
    # no audiences: the API server's own, so the token authenticates to it
    body = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[],
                                                                              expiration_seconds=seconds))
    try:
        answer = client.CoreV1Api(api).create_namespaced_service_account_token(name, namespace, body)
    except ApiException as exc:
        if exc.status == 404:
            fail(f"--serviceaccount {namespace}/{name}: no such ServiceAccount in the sandbox; create it with "
                  f"`kubectl create serviceaccount {name} -n {namespace}`")
        fail(f"the sandbox refused the TokenRequest for {namespace}/{name}: HTTP {exc.status} {exc.reason}")
    except OSError as exc:
        fail(f"cannot reach the sandbox through {kubeconfig}: {type(exc).__name__}")
    finally:
        api.close()
    if answer.status is None or not answer.status.token:
        fail(f"the sandbox answered the TokenRequest for {namespace}/{name} without a token")
    return answer.status.token, str(answer.status.expiration_timestamp)


def _write_kubeconfig(path: Path, admin_kubeconfig: str, user: str, namespace: str, token: str) -> None:
    """The admin kubeconfig's cluster with the ServiceAccount's token, written owner-only and atomically."""
    import os

    import yaml

    admin = yaml.safe_load(Path(admin_kubeconfig).read_text())
    cluster = admin["clusters"][0]
    context = f"{cluster['name']}-{user.rsplit(':', 2)[-2]}-{user.rsplit(':', 1)[-1]}"
    config = {
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": cluster["name"], "user": user, "namespace": namespace}}],
        "current-context": context, "preferences": {},
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(yaml.safe_dump(config, sort_keys=False))
    os.replace(tmp, path)


@main.command()
@click.option("--target", "target_path", type=click.Path(path_type=Path), default=None,
              help="Target file whose cluster to restore: its undo records kept in the cluster are replayed too, "
                   "from any directory or machine (default: the target each local undo record names).")
@click.option("--undo-log", "undo_log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The local undo log to replay (default: $XPCHAOS_UNDO_LOG, else the per-user state directory's "
                   "log for the cluster: $XDG_STATE_HOME/xpchaos or ~/.local/state/xpchaos).")
def restore(target_path: Path | None, undo_log_path: Path | None) -> None:
    """Undo every fault still outstanding (newest first), e.g. after a crashed run: the local undo log's records
    and, with --target, those kept in the target's cluster; then list what a fault marked that no record names.

    Prints one line per record. Running it again is harmless: nothing outstanding, nothing done.
    """
    target = None
    if target_path is not None:  # a bad target is bad input: one line and exit code 2, from the command group
        target = target_module.load(target_path)
        kube.check_context(target)  # the guard every change passes: a target that allows this context
    try:
        log = _restore_log(target, undo_log_path)
        where = f"{log.path}" + (f" and namespace {log.mirror.namespace}" if log.mirror is not None else "")
        results = restore_module.restore_all(
            log, target, on_record=lambda item: console.print(item.line(), markup=False, highlight=False))
        left = [] if target is None or log.mirror is None else restore_module.unrecorded(
            log.mirror.api, target, {r["id"] for r in log.everywhere()})
        held = None if target is None or log.mirror is None else lease.release_abandoned(log.mirror.api, target)
    except (UndoLogError, restore_module.FaultError) as exc:
        fail(str(exc))
    failed = [r for r in results if r.error]
    if results:
        console.print(f"Restored {len(results) - len(failed)} of {len(results)} undo records from {where}.",
                      highlight=False)
    else:
        console.print(f"Nothing to restore ({where}: no outstanding undo records).", highlight=False)
    if held:
        console.print(held[0].upper() + held[1:] + ".", markup=False, highlight=False)
    for line in left:
        console.print(f"Marked by a fault, with no undo record (not changed; look at it): {line}", markup=False,
                      highlight=False)
    if failed or left:
        sys.exit(1)


def _restore_log(target: target_module.Target | None, path: Path | None) -> UndoLog:
    """With a target: its cluster's log (mirrored in the cluster). Without: the given log, else the default
    target's cluster's log when there is one (no call to the cluster: the kubeconfig names the server)."""
    if target is not None:
        api = actions_common.api_for(target)
        return UndoLog(path or actions_common.local_log_path(target, api), actions_common.cluster_records(target, api))
    if path is not None:
        return UndoLog(path)
    try:
        found = target_module.load(target_module.default_path())
        return UndoLog(actions_common.local_log_path(found, kube.api_client(found.kubeconfig, found.context)))
    except Exception:  # no default target (or it names no readable cluster): the unkeyed default
        return UndoLog()


@main.command()
@click.option("--markdown", is_flag=True, help="Print the catalogue as Markdown (what docs/steps.md holds).")
@click.argument("search", required=False)
def steps(markdown: bool, search: str | None) -> None:
    """List the Gherkin step library: every step with what it does and an example.

    SEARCH keeps the steps whose pattern contains it (case-insensitive), e.g. `xpchaos steps dns`.
    """
    if markdown:
        click.echo(catalogue.markdown(), nl=False)
        return
    found = [d for d in catalogue.definitions() if not search or search.lower() in d.text.lower()]
    if not found:
        fail(f"no step contains {search!r}; `xpchaos steps` lists them all")
    for d in found:
        console.print(f"[bold]{d.text}[/bold]", highlight=False)
        console.print(f"    {d.summary}", markup=False, highlight=False)
        example = "\n".join(f"    {line}" for line in f"e.g. {d.example}".splitlines())
        console.print(example, markup=False, highlight=False, style="dim")


# the commands that live in modules of their own

register_run(main)
register_gate(main)
register_report(main)
register_gameday(main)
register_history(main)
register_preflight(main)
register_init(main)
register_discover(main)
register_rbac(main)
