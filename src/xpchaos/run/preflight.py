"""Preflight: is this cluster ready for a first run? Each finding says what is wrong and what to do about it.

``check(target)`` looks, read-only, through the Kubernetes API and DNS only:

1. ``context``     the kube context is one the target allows (else nothing else is checked);
2. ``api``         the API server answers;
3. ``crossplane``  Crossplane's CRDs exist, and the Provider packages are Healthy and Installed;
4. ``composite``, ``providerconfig``, ``secret``, ``managed``, ``pods``  every object the target names exists
   (of the credential Secret only the key names are read: values are dropped as soon as the reply arrives), and
   the managed resources the composites compose are found as a run finds them (those the target lists among them);
5. ``poll``        each provider's ``--poll`` lets a fault surface within the SLO (docs/crossplane.md);
6. ``rbac``        the harness may do what the experiments do (SelfSubjectAccessReviews);
7. ``budget``      every term a failover waits for, added up per fault kind and DNS wiring against the SLO, naming
                   the term that breaks it (``xpchaos.run.preflight_budget``);
8. ``loop``        what the failover needs from the cloud it fails over from: the DNS record reconciled through
                   the lost provider's ProviderConfig, the cluster's own nodes on that cloud, the other side's
                   credentials synced from it (``xpchaos.run.preflight_loops``);
9. ``dns``         every nameserver of every record answers, and with which target.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import dns.exception
from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.actions import network
from xpchaos.actions._common import FaultError
from xpchaos.controls import permissions
from xpchaos.core import access, kube
from xpchaos.core import platform_graph as graph
from xpchaos.core.provider_poll import DEFAULT_POLL, parse_go_duration, poll_arg
from xpchaos.core.target import ObjectRef, Provider, Target
from xpchaos.probes import composed, dns_sampler

Status = Literal["ok", "warn", "fail"]
OK: Status = "ok"
WARN: Status = "warn"
FAIL: Status = "fail"

TIMEOUT = 10  # seconds per API request
DEFAULT_SLO = 90.0
PROVIDER_LABEL = "pkg.crossplane.io/provider"
CROSSPLANE_CRDS = ("compositeresourcedefinitions.apiextensions.crossplane.io", "providers.pkg.crossplane.io")


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    message: str
    fix: str = ""
    rows: tuple[tuple[str, str, str], ...] = ()  # a table under the finding (the budget's terms: name, value, from)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)
        if not self.rows:
            del out["rows"]
        else:
            out["rows"] = [list(row) for row in self.rows]
        return out


def ok(check: str, message: str) -> Finding:
    return Finding(check, OK, message)


def warn(check: str, message: str, fix: str = "") -> Finding:
    return Finding(check, WARN, message, fix)


def fail(check: str, message: str, fix: str = "") -> Finding:
    return Finding(check, FAIL, message, fix)


def failed(findings: Iterable[Finding]) -> bool:
    return any(f.status == FAIL for f in findings)


# Go durations and label selectors ----------------------------------------------------------------------------------
def human(seconds: float) -> str:
    """``10 minutes``, ``90 s``, ``1.5 hours``: for messages."""
    def number(value: float) -> str:
        return f"{value:g}"

    if seconds >= 3600 and seconds % 360 == 0:
        return f"{number(seconds / 3600)} hour{'s' if seconds != 3600 else ''}"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{number(seconds / 60)} minute{'s' if seconds != 60 else ''}"
    return f"{number(seconds)} s"


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "in", "notin", "=", "!=", "exists", "!"
    values: tuple[str, ...] = ()


_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^(?P<key>{_NAME})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")
_EQ = re.compile(rf"^(?P<key>{_NAME})\s*(?P<op>==|=|!=)\s*(?P<value>[-A-Za-z0-9_.]*)$")
_EXISTS = re.compile(rf"^(?P<neg>!?)\s*(?P<key>{_NAME})$")


def parse_selector(selector: str) -> tuple[Requirement, ...]:
    """The requirements of a Kubernetes label selector string (``a in (x,y),b=z,!c``); ``ValueError`` when it is
    not one. The empty selector has none (it selects everything)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(selector):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"label selector {selector!r}: unbalanced parentheses")
        elif char == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"label selector {selector!r}: unbalanced parentheses")
    parts.append(selector[start:])
    if not selector.strip():
        return ()
    out = []
    for raw in parts:
        part = raw.strip()
        if m := _SET.match(part):
            values = tuple(v.strip() for v in m["values"].split(","))
            if not all(values):
                raise ValueError(f"label selector {selector!r}: empty value in {part!r}")
            out.append(Requirement(m["key"], m["op"], values))
        elif m := _EQ.match(part):
            out.append(Requirement(m["key"], "!=" if m["op"] == "!=" else "=", (m["value"],)))
        elif m := _EXISTS.match(part):
            out.append(Requirement(m["key"], "!" if m["neg"] else "exists"))
        else:
            raise ValueError(f"label selector {selector!r}: cannot read {part!r}")
    return tuple(out)


def provider_names(selector: str) -> tuple[str, ...]:
    """The Provider package names a pod selector picks by ``pkg.crossplane.io/provider`` (``in (a,b)`` or
    ``=a``); empty when it does not select by that label."""
    names: list[str] = []
    for req in parse_selector(selector):
        if req.key == PROVIDER_LABEL and req.operator in ("in", "="):
            names += [v for v in req.values if v not in names]
    return tuple(names)


# helpers -------------------------------------------------------------------------------------------------------------
def _why(exc: Exception) -> str:
    """An API error without its body (it may echo objects)."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason or ''}".strip()
    return type(exc).__name__


def _custom(api: client.ApiClient, ref: ObjectRef, name: str | None = None) -> Any:
    objects: Any = client.CustomObjectsApi(api)
    if name is None:
        if ref.namespace:
            return objects.list_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural,
                                                         _request_timeout=TIMEOUT)
        return objects.list_cluster_custom_object(ref.group, ref.version, ref.plural, _request_timeout=TIMEOUT)
    if ref.namespace:
        return objects.get_namespaced_custom_object(ref.group, ref.version, ref.namespace, ref.plural, name,
                                                    _request_timeout=TIMEOUT)
    return objects.get_cluster_custom_object(ref.group, ref.version, ref.plural, name, _request_timeout=TIMEOUT)


def _names(items: Iterable[Any]) -> str:
    found = sorted(str((item.get("metadata") or {}).get("name", "?")) for item in items)
    return ", ".join(found) if found else "none"


def _name(obj: Any) -> str:
    """The name of a typed object (``V1Pod``...)."""
    return str(getattr(obj.metadata, "name", None) or "?")


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("type")): c for c in ((obj.get("status") or {}).get("conditions") or []) if isinstance(c, dict)}


# 1. Crossplane -------------------------------------------------------------------------------------------------------
def check_crossplane(api: client.ApiClient, target: Target) -> list[Finding]:
    found: list[Finding] = []
    crds = client.ApiextensionsV1Api(api)
    missing = []
    for name in CROSSPLANE_CRDS:
        try:
            crds.read_custom_resource_definition(name, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                return [fail("crossplane", f"cannot read CustomResourceDefinition {name}: {_why(exc)}",
                             "let the harness's identity get customresourcedefinitions (apiextensions.k8s.io)")]
            missing.append(name)
    if missing:
        return [fail("crossplane", f"Crossplane is not installed: no CustomResourceDefinition {', '.join(missing)}",
                     "install Crossplane (helm install crossplane crossplane-stable/crossplane -n crossplane-system "
                     "--create-namespace), or point the target at the management cluster")]
    found.append(ok("crossplane", f"Crossplane's CRDs exist ({', '.join(CROSSPLANE_CRDS)})"))
    try:
        objects: Any = client.CustomObjectsApi(api)
        providers = objects.list_cluster_custom_object(
            "pkg.crossplane.io", "v1", "providers", _request_timeout=TIMEOUT).get("items") or []
    except ApiException as exc:
        return [*found, fail("crossplane", f"cannot list Providers (pkg.crossplane.io/v1): {_why(exc)}",
                             "let the harness's identity list providers.pkg.crossplane.io")]
    if not providers:
        return [*found, fail("crossplane", "no Provider package is installed (pkg.crossplane.io/v1 providers)",
                             "install the providers the target uses (e.g. xpkg.upbound.io/upbound/provider-aws-rds)")]
    wanted = {n for p in target.providers.values() for n in _selector_names(p)}
    have = {str((p.get("metadata") or {}).get("name")) for p in providers}
    for name in sorted(wanted - have):
        found.append(fail("crossplane", f"Provider {name} (named by a pod selector of the target) is not installed "
                                        f"(installed: {', '.join(sorted(have))})",
                          f"install the package {name}, or correct the target's pods.selector"))
    for provider in sorted(providers, key=lambda p: str((p.get("metadata") or {}).get("name"))):
        name = str((provider.get("metadata") or {}).get("name"))
        conditions = _conditions(provider)
        bad = [c for t, c in conditions.items() if t in ("Healthy", "Installed") and c.get("status") != "True"]
        if bad:
            said = "; ".join(f"{c.get('type')}={c.get('status')} {c.get('reason', '')}".strip()
                             + (f": {c['message']}" if c.get("message") else "") for c in bad)
            found.append(fail("crossplane", f"Provider {name} is not ready: {said}",
                              f"kubectl describe providers.pkg.crossplane.io {name}; fix the package or its "
                              "runtime config until Healthy and Installed are True"))
        elif conditions:
            shown = ", ".join(f"{t}=True" for t in ("Healthy", "Installed") if t in conditions) or "no Healthy/" \
                                                                                                  "Installed yet"
            found.append(ok("crossplane", f"Provider {name}: {shown}"))
        else:
            found.append(ok("crossplane", f"Provider {name} exists (it reports no conditions)"))
    return found


def _selector_names(provider: Provider) -> tuple[str, ...]:
    try:
        return provider_names(provider.pods_selector)
    except ValueError:
        return ()


# 2. the objects the target names -------------------------------------------------------------------------------------
def _object(api: client.ApiClient, check: str, ref: ObjectRef, where: str, fix: str) -> Finding:
    try:
        _custom(api, ref, ref.name)
        return ok(check, f"{ref.describe()} exists")
    except ApiException as exc:
        if exc.status != 404:
            return fail(check, f"cannot read {ref.describe()}: {_why(exc)}",
                        f"let the harness's identity get {ref.plural}.{ref.group}")
    try:
        others = _names(_custom(api, ref).get("items") or [])
    except ApiException as exc:
        if exc.status == 404:
            return fail(check, f"{ref.describe()}: the kind {ref.plural}.{ref.group}/{ref.version} is not served "
                               "(its CRD is not installed, or another version)",
                        f"install the CRD, or correct {where} in the target")
        others = f"? (cannot list: {_why(exc)})"
    return fail(check, f"{ref.describe()} does not exist (existing {ref.plural}.{ref.group}: {others})",
                f"{fix}, or correct {where} in the target")


def check_objects(api: client.ApiClient, target: Target) -> list[Finding]:
    found = [_object(api, "composite", ref, f"composites[{i}]", "create the XR (kubectl apply -f xr.yaml)")
             for i, ref in enumerate(target.composites)]
    if target.composites and all(f.status == OK for f in found):
        found.append(_composed(api, target))
    for provider in target.providers.values():
        where = f"providers.{provider.name}"
        found.append(_object(api, "providerconfig", provider.provider_config, f"{where}.providerConfig",
                             "create the ProviderConfig"))
        found.append(_secret(api, provider))
        found += [_object(api, "managed", ref, f"{where}.managedResources[{i}]",
                          "let the composition create it (is the XR composed?)")
                  for i, ref in enumerate(provider.managed)]
        found.append(_pods(api, provider))
        found += _family(api, provider)
    return found


def _composed(api: client.ApiClient, target: Target) -> Finding:
    """The managed resources the composites compose, split by provider as a run splits them; the ones the target
    lists must be among them (a run would read error otherwise)."""
    try:
        resolution = composed.resolve(api, target, graph.composed)
    except Exception as exc:
        why = str(exc) if isinstance(exc, graph.WalkError) else _why(exc)  # a WalkError names the object, no body
        return fail("managed", f"cannot resolve the composites' composed resources: {why}",
                    "check the composites in the target (an XR or a claim, bound to its XR)")
    problem = resolution.mismatch(target)
    if problem:
        return fail("managed", problem)
    counts = ", ".join(f"{name}: {len(resolution.mr_keys(name))}" for name in target.providers)
    unplaced = sorted({m.group for ms in resolution.unplaced.values() for m in ms})
    if unplaced:
        return warn("managed", f"{len(target.composites)} composites compose managed resources ({counts}) and some "
                               f"of no provider of the target: groups {', '.join(unplaced)}",
                    "add the provider whose ProviderConfig group is their family, if a fault should reach them")
    return ok("managed", f"{len(target.composites)} composites compose {len(resolution.refs())} managed resources "
                         f"({counts})")


def _family(api: client.ApiClient, provider: Provider) -> list[Finding]:
    """A warning when the selector misses a pod that serves a kind a fault on the provider reaches (a family's)."""
    try:
        family, pods = network.unselected_pods(api, provider)
    except Exception as exc:
        return [warn("pods", f"{provider.name}: cannot tell which Providers serve its kinds ({_why(exc)})",
                     "let the harness's identity read CRDs, ProviderRevisions and ProviderConfigUsages")]
    if not pods:
        return []
    wanted = graph.selector_for({*_selector_names(provider), *family})
    return [warn("pods", f"{provider.name}: the selector {provider.pods_selector!r} misses {', '.join(pods)} (of "
                         f"{', '.join(family)}), which serve kinds a fault on it reaches; block-provider-api blocks "
                         "them with a second NetworkPolicy",
                 f"name them in providers.{provider.name}.pods.selector, e.g. {wanted!r}")]


def _secret(api: client.ApiClient, provider: Provider) -> Finding:
    """Only the Secret's key names are kept; the reply with the values is dropped before anything else."""
    ref = provider.credentials
    if ref is None:
        return ok("secret", f"{provider.name}: no credential Secret pinned; the source is the ProviderConfig's")
    what = f"Secret {ref.namespace}/{ref.name}"
    where = f"providers.{provider.name}.credentials.secret"
    core = client.CoreV1Api(api)
    try:
        secret = core.read_namespaced_secret(ref.name, ref.namespace, _request_timeout=TIMEOUT)
        keys = sorted((secret.data or {}).keys())
        empty = ref.key in keys and not (secret.data or {}).get(ref.key)
        del secret
    except ApiException as exc:
        if exc.status != 404:
            return fail("secret", f"cannot read {what}: {_why(exc)}",
                        f"let the harness's identity get secrets in {ref.namespace}")
        try:
            table = kube.get_table(api, f"/api/v1/namespaces/{ref.namespace}/secrets")  # names only, no values
            others = ", ".join(sorted(str(row["cells"][0]) for row in table.get("rows") or [])) or "none"
        except Exception as list_exc:
            others = f"? (cannot list: {_why(list_exc)})"
        return fail("secret", f"{what} (credentials of {provider.name}) does not exist (secrets in "
                              f"{ref.namespace}: {others})",
                    f"create the credential Secret, or correct {where} in the target")
    if ref.key not in keys:
        return fail("secret", f"{what} has no key {ref.key!r} (it has: {', '.join(keys) or 'no keys'})",
                    f"add the key {ref.key!r} to the Secret, or correct {where}.key in the target")
    if empty:
        return warn("secret", f"{what} key {ref.key!r} is empty", "put the provider's credentials in it")
    return ok("secret", f"{what} has the key {ref.key!r} (values not read)")


def _pods(api: client.ApiClient, provider: Provider) -> Finding:
    ns, selector = provider.pods_namespace, provider.pods_selector
    try:
        pods = client.CoreV1Api(api).list_namespaced_pod(ns, label_selector=selector, _request_timeout=TIMEOUT).items
    except ApiException as exc:
        return fail("pods", f"cannot list the pods of {provider.name} in {ns} ({selector}): {_why(exc)}",
                    f"let the harness's identity list pods in {ns}; check providers.{provider.name}.pods.selector")
    if not pods:
        return fail("pods", f"no pod of {provider.name} in {ns} matches {selector!r}",
                    f"kubectl get pods -n {ns} --show-labels; correct providers.{provider.name}.pods in the target, "
                    "or install the provider")
    running = sorted(_name(p) for p in pods if (p.status and p.status.phase) == "Running")
    if running:
        return ok("pods", f"{provider.name}: {len(running)} of {len(pods)} pods Running in {ns} "
                          f"({', '.join(running)})")
    phases = ", ".join(f"{_name(p)} {(p.status.phase if p.status else None) or 'Unknown'}" for p in pods)
    return warn("pods", f"{provider.name}: {len(pods)} pods in {ns} match {selector!r} but none is Running ({phases})",
                f"kubectl describe pods -n {ns} -l '{selector}'")


# 3. poll interval ----------------------------------------------------------------------------------------------------
def _containers_poll(containers: Iterable[Any]) -> str | None:
    for container in containers or ():
        args = container.get("args") if isinstance(container, dict) else getattr(container, "args", None)
        value = poll_arg(args or ())
        if value is not None:
            return value
    return None


def find_poll(api: client.ApiClient, namespace: str, name: str) -> tuple[str | None, str]:
    """(``--poll`` value, where it was found) for the Provider package ``name``; (None, where looked) if nowhere."""
    label = f"{PROVIDER_LABEL}={name}"
    looked = []
    try:
        deployments = client.AppsV1Api(api).list_namespaced_deployment(namespace, label_selector=label,
                                                                       _request_timeout=TIMEOUT).items
        for deployment in deployments:
            template: Any = deployment.spec.template if deployment.spec else None
            value = _containers_poll(template.spec.containers if template and template.spec else ())
            if value is not None:
                return value, f"Deployment {namespace}/{_name(deployment)}"
        looked.append(f"{len(deployments)} Deployment(s)")
    except ApiException as exc:
        looked.append(f"Deployments ({_why(exc)})")
    try:
        pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=label,
                                                         _request_timeout=TIMEOUT).items
        for pod in pods:
            value = _containers_poll(pod.spec.containers if pod.spec else ())
            if value is not None:
                return value, f"pod {namespace}/{_name(pod)}"
        looked.append(f"{len(pods)} pod(s)")
    except ApiException as exc:
        looked.append(f"pods ({_why(exc)})")
    objects: Any = client.CustomObjectsApi(api)
    try:
        provider = objects.get_cluster_custom_object("pkg.crossplane.io", "v1", "providers", name,
                                                     _request_timeout=TIMEOUT)
        runtime = str(((provider.get("spec") or {}).get("runtimeConfigRef") or {}).get("name") or "default")
    except ApiException:
        runtime = "default"
    try:
        drc = objects.get_cluster_custom_object("pkg.crossplane.io", "v1beta1", "deploymentruntimeconfigs", runtime,
                                                _request_timeout=TIMEOUT)
        spec = (((((drc.get("spec") or {}).get("deploymentTemplate") or {}).get("spec") or {}).get("template")
                 or {}).get("spec") or {})
        value = _containers_poll(spec.get("containers") or [])
        if value is not None:
            return value, f"DeploymentRuntimeConfig {runtime}"
        looked.append(f"DeploymentRuntimeConfig {runtime}")
    except ApiException as exc:
        looked.append(f"DeploymentRuntimeConfig {runtime} ({'not found' if exc.status == 404 else _why(exc)})")
    return None, ", ".join(looked)


def slo_of(target: Target) -> float:
    return float(target.slos.get("dns_convergence", DEFAULT_SLO))


def judge_poll(name: str, value: str, source: str, slo: float, assumed: bool = False) -> Finding:
    """The finding for a provider that polls every ``value``."""
    fix = "shorten --poll (e.g. 10s) with a DeploymentRuntimeConfig, or use a health-driven composition function"
    try:
        poll = parse_go_duration(value)
    except ValueError:
        return fail("poll", f"{name}: --poll={value} ({source}) is not a Go duration", fix)
    said = f"{name} polls every {value}" + (f" (assumed: upjet's default; {source})" if assumed else f" ({source})")
    slo_text = f"{slo:g} s"
    if poll > slo:
        return fail("poll", f"{said}: a fault may stay invisible for up to {human(poll)}, longer than the "
                            f"{slo_text} SLO (a provider notices a fault only at its next poll)", fix)
    if poll > slo / 3:
        return warn("poll", f"{said}: more than a third of the {slo_text} SLO; detection alone may use most of it "
                            "(a provider notices a fault only at its next poll)", fix)
    return ok("poll", f"{said}: within a third of the {slo_text} SLO")


def check_poll(api: client.ApiClient, target: Target) -> list[Finding]:
    found: list[Finding] = []
    slo = slo_of(target)
    for provider in target.providers.values():
        try:
            names = provider_names(provider.pods_selector)
        except ValueError as exc:
            found.append(fail("poll", f"providers.{provider.name}.pods.selector: {exc}",
                              "write a label selector, e.g. pkg.crossplane.io/provider in (provider-aws-rds)"))
            continue
        if not names:  # the selector picks pods some other way: take the package names from the pods' labels
            try:
                pods = client.CoreV1Api(api).list_namespaced_pod(
                    provider.pods_namespace, label_selector=provider.pods_selector, _request_timeout=TIMEOUT).items
                names = tuple(sorted({str(label) for p in pods
                                      if (label := (getattr(p.metadata, "labels", None) or {}).get(PROVIDER_LABEL))}))
            except ApiException:
                names = ()
        if not names:
            found.append(warn("poll", f"{provider.name}: cannot tell which Provider packages serve it (the selector "
                                      f"{provider.pods_selector!r} names none and no matching pod has the label "
                                      f"{PROVIDER_LABEL})",
                              f"select the pods by {PROVIDER_LABEL} in the target"))
            continue
        for name in names:
            value, source = find_poll(api, provider.pods_namespace, name)
            if value is None:
                found.append(judge_poll(name, DEFAULT_POLL, f"no --poll in {source}", slo, assumed=True))
            else:
                found.append(judge_poll(name, value, f"--poll={value} in {source}", slo))
    return found


# 4. RBAC -------------------------------------------------------------------------------------------------------------
def needed_access(api: client.ApiClient, target: Target) -> list[access.Access]:
    """Every permission the runs need against ``target`` (``xpchaos.core.access``'s table)."""
    try:
        family = access.family_kinds(api, target)
    except Exception:  # the CRDs cannot be listed (denied, unreachable): that permission is asked too, and shows
        family = []
    return access.needed(target, permissions.run_uses(api, target), family)


def check_rbac(api: client.ApiClient, target: Target) -> list[Finding]:
    wanted = needed_access(api, target)
    config = {"kubeconfig": target.kubeconfig, "context": target.context}
    try:
        refused = access.denied(api, wanted)
    except ApiException as exc:
        how = "check the permissions by hand, e.g. " + wanted[0].can_i(**config)
        if exc.status == 404:
            return [warn("rbac", "cannot check RBAC here: the API serves no SelfSubjectAccessReviews "
                                 "(authorization.k8s.io/v1)", how)]
        return [warn("rbac", f"cannot check RBAC: creating a SelfSubjectAccessReview failed ({_why(exc)})", how)]
    found = [fail("rbac", f"denied: {a.what()}",
                  f"grant it to the harness's identity (xpchaos rbac --target {target.path}); check with: "
                  f"{a.can_i(**config)}") for a in refused]
    return found or [ok("rbac", f"all {len(wanted)} permissions the experiments need are allowed")]


# 5. DNS --------------------------------------------------------------------------------------------------------------
def check_dns(target: Target) -> list[Finding]:
    found: list[Finding] = []
    if not target.dns:
        return [warn("dns", "the target names no DNS record: DNS convergence cannot be measured",
                     "add dns: [{name, nameservers, primary, secondary}] to the target")]
    for record in target.dns:
        for ns in record.nameservers:
            where = f"{dns_sampler.label(ns)} for {record.name} {record.type}"
            try:
                answers = dns_sampler.ask(record, ns)
            except (dns.exception.DNSException, OSError) as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                found.append(fail("dns", f"{where}: no answer ({detail})",
                                  f"dig @{ns.host} -p {ns.port} {record.name} {record.type}; check the address in "
                                  "dns[].nameservers and that the server is authoritative for the zone"))
                continue
            shown = ", ".join(answers) or "nothing"
            if set(answers) == set(record.primary):
                found.append(ok("dns", f"{where}: answers the primary ({shown})"))
            elif set(answers) == set(record.secondary):
                found.append(warn("dns", f"{where}: answers the secondary ({shown}): traffic is failed over "
                                         "already, a run's steady state needs the primary",
                                  "let the platform fail back (or restore the primary) before a run"))
            else:
                found.append(fail("dns", f"{where}: answers {shown}, neither the primary "
                                         f"({', '.join(record.primary)}) nor the secondary "
                                         f"({', '.join(record.secondary)})",
                                  "correct dns[].primary / secondary in the target, or the record"))
    return found


# what block-provider-api keeps --------------------------------------------------------------------------------------
def check_egress(api: client.ApiClient, target: Target) -> list[Finding]:
    """What a blocked provider still reaches (the API server, cluster DNS), as block-provider-api would write it."""
    try:
        _rules, kept = network.keep_egress(api, target)
    except Exception as exc:
        why = str(exc) if isinstance(exc, FaultError) else _why(exc)
        return [fail("egress", f"block-provider-api cannot tell what to keep: {why}",
                     "write egressKeep in the target (the API server's endpoints and cluster DNS), or point "
                     "egressKeepFrom at the Services that publish them")]
    found = [ok("egress", f"block-provider-api keeps: {'; '.join(kept)}")]
    if target.egress_keep:
        found.append(warn("egress", "egressKeep is used as written: a CNI that matches after Service translation "
                                    "(Calico, Cilium) sees the endpoints, not a Service's ClusterIP",
                          "remove egressKeep to keep the endpoints read from the cluster (egressKeepFrom)"))
    return found


# all of it -----------------------------------------------------------------------------------------------------------
def check_feasibility(api: client.ApiClient, target: Target) -> list[Finding]:
    """The time budget and the dependency loops, from one read of the composites and what they compose."""
    composites = preflight_budget.read_composites(api, target) if target.composites else []
    return [*preflight_budget.check_budget(api, target, composites),
            *preflight_loops.check_loops(api, target, composites)]


CHECKS: tuple[Callable[[client.ApiClient, Target], list[Finding]], ...] = (
    check_crossplane, check_objects, check_poll, check_rbac, check_egress, check_feasibility)


def check(target: Target) -> list[Finding]:
    """Every finding about ``target``'s cluster and nameservers; read-only."""
    try:
        kube.check_context(target)
        api = kube.api_client(target.kubeconfig, target.context)
    except kube.ContextNotAllowed as exc:
        return [fail("context", str(exc), "use an allowed context (--context in the target, or kubectl config "
                                          "use-context), or add this one to allowedContexts if it is safe")]
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [fail("context", f"cannot use the kubeconfig {target.kubeconfig or '(default)'} context "
                                f"{target.context or '(current)'}: {first}",
                     "correct kubeconfig / context in the target")]
    context = target.context or kube.current_context(target)
    allowed = f" (allowed: {', '.join(target.allowed_contexts)})" if target.allowed_contexts else \
        " (allowAnyContext: true: any context is accepted)"
    found = [ok("context", f"kube context {context!r}{allowed}")]
    with api:
        try:
            client.CoreApi(api).get_api_versions(_request_timeout=TIMEOUT)
            found.append(ok("api", f"the API server at {api.configuration.host} answers"))
        except Exception as exc:
            found.append(fail("api", f"the API server at {api.configuration.host} does not answer ({_why(exc)})",
                              "check the cluster is up and the kubeconfig's server address and credentials"))
        else:
            access.require(api, target, ["preflight"], "xpchaos preflight")  # its own reads: one line, exit 2
            for step in CHECKS:
                try:
                    found += step(api, target)
                except Exception as exc:
                    found.append(fail(step.__name__.removeprefix("check_"),
                                      f"the check could not finish ({_why(exc)})",
                                      "check the API server is reachable and rerun"))
    found += check_dns(target)
    return found


# below what they use of this module (Finding, find_poll, ...), which they import
from xpchaos.run import preflight_budget, preflight_loops  # noqa: E402

__all__ = ["Finding", "check", "failed", "parse_go_duration", "parse_selector", "provider_names"]
