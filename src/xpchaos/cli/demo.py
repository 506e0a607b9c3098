"""``xpchaos demo``: the main job on the sandbox.

Starts (or reuses) the sandbox with the blueprint profile: a simulated Crossplane management cluster with an
XGlobalDatabase on AWS that fails over to Azure, and its DNS. Shows it through the official Kubernetes client
and the DNS protocol exactly as kubectl and dig would, then runs the experiment revoke-credentials.json against
it (what ``xpchaos run`` does: the timeline live, the verdict and the recovery times against the SLO), and
writes everything to a transcript beside the run's journal and report.
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
from kubernetes import client, watch
from rich.console import Console
from rich.table import Table

from xpchaos.cli import run as run_cli
from xpchaos.core import kube
from xpchaos.core import target as targets
from xpchaos.probes import timeline as tl
from xpchaos.report import html as report
from xpchaos.report.page import write
from xpchaos.report.timeline_text import describe, visible
from xpchaos.run import runner, sources, steady
from xpchaos.run import sandbox_process as sp

XR = ("database.example.org", "v1alpha1", "xglobaldatabases", "production-db")
SHOWN = [
    ("providers.pkg.crossplane.io", "/apis/pkg.crossplane.io/v1/providers"),
    ("providerconfigs.aws.upbound.io", "/apis/aws.upbound.io/v1beta1/providerconfigs"),
    ("providerconfigs.azure.upbound.io", "/apis/azure.upbound.io/v1beta1/providerconfigs"),
    ("clusters.rds.aws.upbound.io", "/apis/rds.aws.upbound.io/v1beta1/clusters"),
    ("mssqlservers.sql.azure.upbound.io", "/apis/sql.azure.upbound.io/v1beta1/mssqlservers"),
    ("records.route53.aws.upbound.io", "/apis/route53.aws.upbound.io/v1beta1/records"),
    ("healthchecks.route53.aws.upbound.io", "/apis/route53.aws.upbound.io/v1beta1/healthchecks"),
    ("xglobaldatabases", "/apis/database.example.org/v1alpha1/xglobaldatabases"),
]


def render_table(console: Console, title: str, doc: dict[str, Any]) -> None:
    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    columns = [c for c in doc["columnDefinitions"] if c.get("priority", 0) == 0]
    indexes = [doc["columnDefinitions"].index(c) for c in columns]
    for column in columns:
        table.add_column(column["name"].upper())
    for row in doc["rows"]:
        table.add_row(*("" if row["cells"][i] is None else str(row["cells"][i]) for i in indexes))
    console.print(table)


def _ensure_sandbox(state_dir: Path, console: Console, speed: str = "real") -> sp.SandboxInfo:
    info = sp.read_state(state_dir)
    if info is not None:
        options = sp.running_options(info)
        if options.get("profile") != "blueprint" or options.get("crossplane") != "v1" or \
                options.get("primary", "aws") != "aws":
            raise sp.SandboxError(
                f"the sandbox running in {state_dir} has --profile {options.get('profile', 'none')} "
                f"--crossplane {options.get('crossplane', '-')} --primary {options.get('primary', 'aws')}; the demo "
                "needs the blueprint profile on Crossplane v1 serving from aws: stop it with "
                f"`{command('xpchaos')} sandbox down --state-dir {state_dir}` and run the demo again", exit_code=2)
        console.print(f"[green]Sandbox already running[/green] at {info.api} (reused)")
        return info
    with console.status(f"Starting the sandbox (blueprint profile, {speed} timings)..."):
        info, _ = sp.start(state_dir, extra_args=["--profile", "blueprint", "--speed", speed])
    console.print(f"[green]Sandbox started[/green] at {info.api}")
    return info


def _wait_ready(api: client.ApiClient, timeout: float = 60) -> dict[str, Any]:
    """Watch the XR until it reports Ready=True (the controllers' first reconcile), with a deadline."""
    custom = client.CustomObjectsApi(api)
    group, version, plural, name = XR
    stream = watch.Watch()
    result: dict[str, Any] = {}
    timer = threading.Timer(timeout, stream.stop)
    timer.start()
    try:
        for event in stream.stream(custom.list_cluster_custom_object, group, version, plural,
                                   field_selector=f"metadata.name={name}", timeout_seconds=int(timeout)):
            conditions = {c["type"]: c["status"] for c in event["object"].get("status", {}).get("conditions", [])}
            if conditions.get("Ready") == "True":
                result = event["object"]
                stream.stop()
    finally:
        timer.cancel()
    if not result:
        raise sp.SandboxError(f"the XR {name} did not become Ready within {timeout:.0f} s")
    return result


def _dig(nameserver: targets.Nameserver, name: str) -> list[str]:
    answer = dns.query.udp(dns.message.make_query(name, "A"), nameserver.host, port=nameserver.port, timeout=2)
    return [r.address for rrset in answer.answer for r in rrset if r.rdtype == dns.rdatatype.A]


EXPERIMENT = "revoke-credentials.json"  # from experiments/ here, else the copy shipped with xpchaos


def command(name: str) -> str:
    """How to call one of this installation's commands (xpchaos, chaos, pytest) from here: its name when PATH
    finds this installation's, else its path (``.venv/bin/xpchaos`` in a checkout)."""
    mine = Path(sys.executable).parent / name
    if shutil.which(name) == str(mine):
        return name
    return str(mine.relative_to(Path.cwd())) if mine.is_relative_to(Path.cwd()) else str(mine)


def _run_experiment(console: Console, info: sp.SandboxInfo, out_dir: Path) -> int:
    """The main job: the experiment with the live timeline, then its report; returns the verdict's exit code."""
    assert info.target is not None
    target = targets.load(info.target)
    found = sources.experiment(EXPERIMENT)
    console.print(f"\n[bold]The main job[/bold]: $ xpchaos run {found.path} --target {info.target}", highlight=False)
    if found.shipped:
        console.print(found.note(), markup=False, highlight=False)
    with console.status("Waiting for the steady state (XR Ready, DNS on the primary)..."):
        state = steady.wait(target, 180)  # a reused sandbox may still be failing back from an earlier run
    if not state.held:
        console.print(f"[red]The platform is not healthy[/red]: {state.problem}; not injecting anything")
        return 2
    with run_cli.Progress(Console(soft_wrap=True), f"{found.path.stem} against {target.name}"):
        result = runner.run(found.path, target.path, journal_path=out_dir / "journal.json")
    entries = tl.entries_from_json(result.timeline)
    marks = [e for e in entries if e.what == tl.MARK]
    start = marks[0].mono if marks else (entries[0].mono if entries else 0.0)
    console.print("\nTimeline (seconds from the fault):")
    for entry in visible(entries):
        source, obj, change = describe(entry)
        console.print(f"  {entry.mono - start:7.2f}s  {source:<8} {obj:<48} {change}", markup=False,
                      highlight=False)
    console.print()
    console.print(run_cli.render_report(result))
    (out_dir / "report.txt").write_text(run_cli.report_text(result))
    page = write(report.render_journal(result.journal, "journal.json"), out_dir / "report.html")
    console.print(f"HTML report (open it in a browser): [bold]{page}[/bold]")
    return result.verdict.exit_code


def _walkthrough(console: Console, info: sp.SandboxInfo, state_dir: Path) -> None:
    dig = "dig @127.0.0.1 -p PORT api.xpchaos.test +short"
    if info.target:
        nameserver = targets.load(info.target).dns[0].nameservers[0]
        dig = f"dig @{nameserver.host} -p {nameserver.port} api.xpchaos.test +short"
    console.print("\n[bold]The sandbox keeps running.[/bold] Explore it like any cluster, or run more:")
    console.print(f"  export KUBECONFIG={info.kubeconfig}")
    console.print("  kubectl get managed                      # every managed resource, SYNCED and READY")
    console.print(f"  {dig}")
    xpchaos = command("xpchaos")
    console.print(f"  {xpchaos} plan block-provider-api --target {info.target}", highlight=False)
    console.print(f"  {xpchaos} run delete-providerconfig --target {info.target}", highlight=False)
    chaos_file = sources.experiment("block-provider-api.json").path  # chaos itself reads files only
    console.print(f"  XPCHAOS_TARGET={info.target} {command('chaos')} run {chaos_file}", highlight=False)
    if sources.FEATURES_DIR.is_dir():
        console.print(f"  {command('pytest')} features/    # the Gherkin scenarios (their own sandboxes)",
                      highlight=False)
    else:
        console.print(f"  {xpchaos} init    # features/, experiments/ and a CI workflow for your own repository",
                      highlight=False)
    console.print(f"  {xpchaos} sandbox down --state-dir {state_dir}    # stop it", highlight=False)


def run(state_dir: Path, transcript: Path, speed: str = "real") -> int:
    console = Console(record=True, width=200)  # wide enough that no column is cut
    info = _ensure_sandbox(state_dir, console, speed)
    api = kube.api_client(info.kubeconfig)
    xr = _wait_ready(api)
    if info.target:  # a reused sandbox may still be failing back from an earlier run: show it once it is home
        with console.status("Waiting for the steady state (XR Ready, DNS on the primary)..."):
            steady.wait(targets.load(info.target), 180)
        xr = _wait_ready(api)
    for title, path in SHOWN:
        render_table(console, f"\n$ kubectl get {title}", kube.get_table(api, path))
    failover = (xr.get("status") or {}).get("failover", {})
    console.print(f"\nFailover state of production-db: serving [bold]{failover.get('activeProvider', '?')}[/bold], "
                  f"weights {failover.get('weights', {})}")
    if info.target:
        record = targets.load(info.target).dns[0]
        answers = _dig(record.nameservers[0], record.name)
        console.print(f"\n$ dig @{record.nameservers[0].host} -p {record.nameservers[0].port} {record.name} +short")
        console.print("  " + "\n  ".join(answers))
        console.print(f"\nTarget for the harness: [bold]{info.target}[/bold]")
    transcript.parent.mkdir(parents=True, exist_ok=True)
    code = _run_experiment(console, info, transcript.parent)
    _walkthrough(console, info, state_dir)
    transcript.write_text(console.export_text())
    console.print(f"\nTranscript written to [bold]{transcript}[/bold]; the run's journal and report are beside it")
    return code
