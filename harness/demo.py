"""``xpchaos demo``: the main job on the sandbox, as far as the harness has grown.

Today it starts (or reuses) the sandbox and shows it behaving like a real management cluster through the
official Kubernetes client: a CRD taking effect, a composite resource, a watch seeing its Ready condition
flip, server-side tables as kubectl prints them. Everything it shows is also written to a transcript.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from rich.console import Console
from rich.table import Table

from . import kube
from . import sandbox_process as sp

GROUP, VERSION, PLURAL = "database.example.org", "v1alpha1", "xglobaldatabases"

XRD_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Cluster",
        "names": {"plural": PLURAL, "singular": "xglobaldatabase", "kind": "XGlobalDatabase",
                  "listKind": "XGlobalDatabaseList"},
        "versions": [{
            "name": VERSION, "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            "additionalPrinterColumns": [
                {"name": "SYNCED", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Synced')].status"},
                {"name": "READY", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
                {"name": "COMPOSITION", "type": "string", "jsonPath": ".spec.compositionRef.name"},
                {"name": "AGE", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        }],
    },
}

XR: dict[str, Any] = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "XGlobalDatabase",
    "metadata": {"name": "production-db"},
    "spec": {"parameters": {"storageGB": 20, "region": "multi-cloud"},
             "compositionRef": {"name": "global-database-aws-azure"}},
}


def _condition(kind: str, status: str, reason: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": kind, "status": status, "reason": reason, "lastTransitionTime": stamp}


def render_table(console: Console, title: str, doc: dict[str, Any]) -> None:
    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    columns = [c for c in doc["columnDefinitions"] if c.get("priority", 0) == 0]
    indexes = [doc["columnDefinitions"].index(c) for c in columns]
    for column in columns:
        table.add_column(column["name"].upper())
    for row in doc["rows"]:
        table.add_row(*(str(row["cells"][i]) for i in indexes))
    console.print(table)


def run(state_dir: Path, transcript: Path) -> int:
    console = Console(record=True, soft_wrap=True)
    info = sp.read_state(state_dir)
    if info is None:
        with console.status("Starting the sandbox..."):
            info, _ = sp.start(state_dir)
        console.print(f"[green]Sandbox started[/green] at {info.api}")
    else:
        console.print(f"[green]Sandbox already running[/green] at {info.api} (reused)")
    api = kube.api_client(info.kubeconfig)
    _apply_platform(api, console)
    _flip_ready_under_watch(api, console)
    render_table(console, "\n$ kubectl get namespaces", kube.get_table(api, "/api/v1/namespaces"))
    render_table(console, f"\n$ kubectl get {PLURAL}", kube.get_table(api, f"/apis/{GROUP}/{VERSION}/{PLURAL}"))
    console.print("\n[bold]The sandbox keeps running.[/bold] Explore it like any cluster:")
    console.print(f"  export KUBECONFIG={info.kubeconfig}")
    console.print(f"  kubectl get {PLURAL} -w")
    console.print("  xpchaos sandbox down          # stop it")
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text(console.export_text())
    console.print(f"\nTranscript written to [bold]{transcript}[/bold]")
    return 0


def _apply_platform(api: client.ApiClient, console: Console) -> None:
    extensions = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)
    try:
        extensions.create_custom_resource_definition(XRD_CRD)  # type: ignore[arg-type]  # dicts are accepted
        console.print(f"customresourcedefinition.apiextensions.k8s.io/{PLURAL}.{GROUP} created")
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        console.print(f"customresourcedefinition.apiextensions.k8s.io/{PLURAL}.{GROUP} unchanged")
    try:
        custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, XR)
        console.print("xglobaldatabase.database.example.org/production-db created")
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        console.print("xglobaldatabase.database.example.org/production-db unchanged")


def _flip_ready_under_watch(api: client.ApiClient, console: Console) -> None:
    """Set Ready False then True while a watch (as a probe would) reports each transition."""
    custom = client.CustomObjectsApi(api)
    listed: dict[str, Any] = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)  # type: ignore[assignment]
    start_rv = listed["metadata"]["resourceVersion"]
    seen: list[str] = []
    done = threading.Event()

    def observe() -> None:
        stream = watch.Watch()
        for event in stream.stream(custom.list_cluster_custom_object, GROUP, VERSION, PLURAL,
                                   resource_version=start_rv, timeout_seconds=30):
            conditions = {c["type"]: c["status"] for c in event["object"].get("status", {}).get("conditions", [])}
            seen.append(f"{event['type']:<9} production-db  Synced={conditions.get('Synced', '-')} "
                        f"Ready={conditions.get('Ready', '-')}  rv={event['object']['metadata']['resourceVersion']}")
            if len(seen) == 2:
                stream.stop()
        done.set()

    observer = threading.Thread(target=observe, daemon=True)
    observer.start()
    for ready, reason in (("False", "Creating"), ("True", "Available")):
        status = {"conditions": [_condition("Synced", "True", "ReconcileSuccess"),
                                 _condition("Ready", ready, reason)]}
        custom.patch_cluster_custom_object_status(GROUP, VERSION, PLURAL, "production-db", {"status": status})
    done.wait(30)
    console.print(f"\n$ kubectl get {PLURAL} -w --output-watch-events   [dim](what the watch saw)[/dim]")
    for line in seen:
        console.print("  " + line)
