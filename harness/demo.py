"""``xpchaos demo``: the main job on the sandbox, as far as the harness has grown.

Starts (or reuses) the sandbox with the blueprint profile: a simulated Crossplane management cluster with an
XGlobalDatabase on AWS that fails over to Azure, and its DNS. Shows it through the official Kubernetes client
and the DNS protocol exactly as kubectl and dig would, and writes everything to a transcript.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import yaml
from kubernetes import client, watch
from rich.console import Console
from rich.table import Table

from . import kube
from . import sandbox_process as sp

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


def _ensure_sandbox(state_dir: Path, console: Console) -> sp.SandboxInfo:
    info = sp.read_state(state_dir)
    if info is not None:
        options = sp.running_options(info)
        if options.get("profile") != "blueprint" or options.get("crossplane") != "v1":
            raise sp.SandboxError(
                f"the sandbox running in {state_dir} has --profile {options.get('profile', 'none')} "
                f"--crossplane {options.get('crossplane', '-')}; the demo needs the blueprint profile on Crossplane "
                "v1: stop it with `.venv/bin/xpchaos sandbox down` and run `make demo` again", exit_code=2)
        console.print(f"[green]Sandbox already running[/green] at {info.api} (reused)")
        return info
    with console.status("Starting the sandbox (blueprint profile, real timings)..."):
        info, _ = sp.start(state_dir, extra_args=["--profile", "blueprint", "--speed", "real"])
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


def _dig(nameserver: str, name: str) -> list[str]:
    host, port = nameserver.rsplit(":", 1)
    answer = dns.query.udp(dns.message.make_query(name, "A"), host, port=int(port), timeout=2)
    return [r.address for rrset in answer.answer for r in rrset if r.rdtype == dns.rdatatype.A]


def _walkthrough(console: Console, info: sp.SandboxInfo) -> None:
    timings: dict[str, Any] = {}
    dig = "dig @127.0.0.1 -p PORT api.xpchaos.test +short"
    if info.target:
        target = yaml.safe_load(Path(info.target).read_text())
        timings = target["sandbox"]["timings"]
        dig = f"dig @{target['dns'][0]['nameservers'][0].replace(':', ' -p ')} api.xpchaos.test +short"
    failover = timings.get("mr_poll", 0) + timings.get("detection", 0) + timings.get("promotion", 0)
    failback = failover + timings.get("failback", 0) - timings.get("detection", 0)
    pc = "providerconfigs.aws.upbound.io aws-production"
    console.print("\n[bold]The sandbox keeps running.[/bold] Explore it like any cluster; a fault by hand:")
    console.print(f"  export KUBECONFIG={info.kubeconfig}")
    console.print("  kubectl get managed                      # every managed resource, SYNCED and READY")
    console.print(f"  kubectl get {pc} -o yaml > /tmp/aws-production.yaml")
    console.print(f"  kubectl delete {pc} --wait=false")
    console.print("  kubectl get events -n default           # UsageAccounting: blocked while in use, nothing fails")
    console.print(f"  kubectl patch {pc} --type merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'   # force it")
    console.print("  kubectl get managed -w                   # AWS: SYNCED False, READY stays True")
    console.print(f"  {dig}   # 198.51.100.20 (Azure) within about {failover:.0f} s")
    console.print("  kubectl create -f /tmp/aws-production.yaml   # after deleting uid, resourceVersion and "
                  "creationTimestamp from it")
    console.print(f"  {dig}   # back to 192.0.2.10 about {failback:.0f} s later")
    console.print("  .venv/bin/xpchaos sandbox down           # stop it")


def run(state_dir: Path, transcript: Path) -> int:
    console = Console(record=True, width=200)  # wide enough that no column is cut
    info = _ensure_sandbox(state_dir, console)
    api = kube.api_client(info.kubeconfig)
    xr = _wait_ready(api)
    for title, path in SHOWN:
        render_table(console, f"\n$ kubectl get {title}", kube.get_table(api, path))
    failover = (xr.get("status") or {}).get("failover", {})
    console.print(f"\nFailover state of production-db: serving [bold]{failover.get('activeProvider', '?')}[/bold], "
                  f"weights {failover.get('weights', {})}")
    if info.target:
        target = yaml.safe_load(Path(info.target).read_text())
        record = target["dns"][0]
        answers = _dig(record["nameservers"][0], record["name"])
        console.print(f"\n$ dig @{record['nameservers'][0].replace(':', ' -p ')} {record['name']} +short")
        console.print("  " + "\n  ".join(answers))
        console.print(f"\nTarget for the harness: [bold]{info.target}[/bold]")
    _walkthrough(console, info)
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text(console.export_text())
    console.print(f"\nTranscript written to [bold]{transcript}[/bold]")
    return 0
