"""What the harness may ask of the Kubernetes API: one table, read three ways.

``GRANTS`` lists every permission any part of the harness uses, each with the uses that need it and why. From it:

- ``xpchaos rbac`` renders the least-privilege manifests (deploy/kubernetes/rbac.yaml is its output for the example
  target): a run ClusterRole and Roles (``xpchaos``, ``xpchaos-faults``, ``xpchaos-gameday``) and a read-only one
  (``xpchaos-read``) for ``discover`` and ``preflight``;
- ``xpchaos preflight`` asks the API server, one SelfSubjectAccessReview per permission, whether the harness's
  identity holds what the runs need (``needed``);
- every run, game day, ``discover`` and ``preflight`` asks the same before it changes or reads anything
  (``require``): a permission missing stops it with one line naming the verb and the resource, exit code 2.

Groups and resources that depend on the platform are written as placeholders (``COMPOSITE``, ``MANAGED``,
``PROVIDER_CONFIG``) and filled from the target: its composites' groups, its managed resources' groups and kinds,
its ProviderConfigs' groups. Rendered manifests add each upbound group's Crossplane v1/v2 twin
(``aws.upbound.io`` / ``aws.m.upbound.io``), so one manifest serves a platform during its move to v2.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kubernetes import client
from kubernetes.client.rest import ApiException

from xpchaos.core import platform_graph as graph
from xpchaos.core.errors import InputError
from xpchaos.core.target import Target

Use = Literal["observe", "delete-providerconfig", "revoke-credentials", "revoke-identity", "block-provider-api",
              "health-check", "gameday", "scenarios", "discover", "preflight"]
READ_USES: frozenset[Use] = frozenset({"discover", "preflight"})
Where = Literal["cluster", "providers", "harness"]  # cluster-wide; each provider's namespace; the harness's own

COMPOSITE = "<composite>"  # the target's composites' groups (any kind in them: XRs and their claims)
MANAGED = "<managed>"  # the target's managed resources' groups; as a resource, their plurals
PROVIDER_CONFIG = "<provider-config>"  # the target's ProviderConfigs' groups
CREDENTIAL_SECRETS = "<credential-secrets>"  # as resourceNames: the Secrets the target pins
EMERGENCY_STOP = "<emergency-stop>"  # as resourceNames: the target's emergency-stop ConfigMap

READ_VERBS = frozenset({"get", "list", "watch"})
TIMEOUT = 10  # seconds per review


@dataclass(frozen=True)
class Grant:
    """One row of the table: ``verbs`` on ``resources`` of ``groups``, ``where``, for ``uses``."""

    groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    where: Where
    uses: frozenset[Use]
    why: str
    names: tuple[str, ...] = ()  # resourceNames

    @property
    def read_only(self) -> bool:
        return set(self.verbs) <= READ_VERBS or self.resources == ("selfsubjectaccessreviews",)


def _grant(groups: Iterable[str], resources: Iterable[str], verbs: Iterable[str], where: Where, uses: Iterable[Use],
           why: str, names: Iterable[str] = ()) -> Grant:
    return Grant(tuple(groups), tuple(resources), tuple(verbs), where, frozenset(uses), why, tuple(names))


_CONFIGS = ("providerconfigs", "clusterproviderconfigs")  # v1: ProviderConfig; v2 adds ClusterProviderConfig
_USAGES = ("providerconfigusages", "clusterproviderconfigusages")
# the health objects the health check fault changes, and where it reads which one serves (v1 group and v2 twin)
_ROUTE53 = ("route53.aws.upbound.io", "route53.aws.m.upbound.io")
_NETWORK = ("network.azure.upbound.io", "network.azure.m.upbound.io")
_TM_ENDPOINTS = ("trafficmanagerexternalendpoints", "trafficmanagerazureendpoints", "trafficmanagernestedendpoints")

GRANTS: tuple[Grant, ...] = (
    # -- cluster-wide ---------------------------------------------------------------------------------------------
    _grant([COMPOSITE], ["*"], ["get", "list", "watch"], "cluster", ["observe", "discover", "preflight"],
           "probes/recorder.py watches the XRs' conditions; probes/failover.py gets them; src/xpchaos/run/stops.py "
           "lists them (maxUnhealthyXRs); src/xpchaos/run/discover.py follows claims to XRs; preflight checks "
           "each exists"),
    _grant([MANAGED], [MANAGED], ["get", "list", "watch"], "cluster", ["observe", "discover", "preflight"],
           "probes/recorder.py watches the composed managed resources; actions/blast_radius.py lists them (what a "
           "fault reaches); src/xpchaos/run/discover.py and preflight read them"),
    _grant([PROVIDER_CONFIG], _CONFIGS, ["get", "list", "watch"], "cluster", ["observe", "discover", "preflight"],
           "actions/_common.wait_object waits for a ProviderConfig's state; actions/blast_radius.py lists those a "
           "credential fault breaks too; src/xpchaos/run/discover.py reads their credential source"),
    _grant([PROVIDER_CONFIG], _USAGES, ["list"], "cluster", ["observe", "discover", "preflight"],
           "actions/network.py and actions/blast_radius.py: the ProviderConfigUsages name the managed resources "
           "using the faulted ProviderConfig"),
    _grant([PROVIDER_CONFIG], _CONFIGS, ["create", "delete", "patch"], "cluster", ["delete-providerconfig"],
           "actions/providerconfig.py deletes the ProviderConfig, patches its in-use finalizer away (force, and "
           "the restore of a Terminating one) and re-creates it from the snapshot; actions/restore.py likewise"),
    _grant([PROVIDER_CONFIG], _CONFIGS, ["patch"], "cluster", ["revoke-identity"],
           "actions/identity.py points the ProviderConfig's role ARN or client ID at one that does not exist, and "
           "back"),
    _grant(_ROUTE53, ["healthchecks"], ["get", "list", "watch", "patch"], "cluster", ["health-check"],
           "actions/healthcheck.py reads the health check a PRIMARY failover Record routes by, sets its "
           "invertHealthcheck (and back on rollback), and waits for the provider to report it in status.atProvider"),
    _grant(_NETWORK, _TM_ENDPOINTS, ["get", "list", "watch", "patch"], "cluster", ["health-check"],
           "actions/healthcheck.py reads a Traffic Manager profile's endpoints, disables the one serving (and "
           "back on rollback), and waits for the provider to report it in status.atProvider"),
    _grant(_NETWORK, ["trafficmanagerprofiles"], ["get"], "cluster", ["health-check"],
           "actions/healthcheck.py reads what each composite composes: a Traffic Manager profile means its "
           "endpoints route DNS by health"),
    _grant([""], ["events"], ["list", "watch"], "cluster", ["observe"],
           "probes/recorder.py watches core/v1 Events (those of cluster-scoped managed resources live in "
           "`default`); actions/providerconfig.py lists the events of a blocked deletion"),
    _grant(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list"], "cluster",
           ["observe", "discover", "preflight"],
           "actions/blast_radius.py lists the managed kinds; src/xpchaos/core/platform_graph.py reads a kind's CRD "
           "for the ProviderRevision serving it; preflight checks Crossplane's CRDs"),
    _grant(["pkg.crossplane.io"], ["providerrevisions"], ["get", "list"], "cluster",
           ["observe", "discover", "preflight"],
           "a CRD's ProviderRevision names the Provider whose pods serve the kind (actions/network.py blocks them "
           "all; actions/blast_radius.py, discover)"),
    _grant(["pkg.crossplane.io"], ["providers", "deploymentruntimeconfigs"], ["get", "list"], "cluster",
           ["preflight"],
           "src/xpchaos/run/preflight.py: the Provider packages are Healthy and Installed; their --poll is read "
           "from the DeploymentRuntimeConfig"),
    _grant([""], ["pods"], ["list"], "cluster",
           ["observe", "block-provider-api", "revoke-identity", "discover", "preflight"],
           "src/xpchaos/run/discover.py finds the pods of each Provider that serves a kind, in whatever namespace "
           "they run; actions/network.py proves its NetworkPolicy selects the provider's pods; actions/identity.py "
           "finds the pods to restart; actions/blast_radius.py; preflight checks they run"),
    _grant([""], ["services"], ["get"], "cluster", ["block-provider-api", "preflight"],
           "actions/network.py keeps egress to the API server's and cluster DNS's ClusterIPs (default/kubernetes, "
           "kube-system/kube-dns unless egressKeepFrom names others); preflight shows what it keeps"),
    _grant(["discovery.k8s.io"], ["endpointslices"], ["list"], "cluster", ["block-provider-api", "preflight"],
           "actions/network.py keeps egress to the API server's endpoints (the default/kubernetes EndpointSlice), "
           "which a CNI matching after Service translation sees; preflight shows them"),
    _grant([""], ["nodes"], ["list"], "cluster", ["preflight"],
           "src/xpchaos/run/preflight_loops.py: do the management cluster's own nodes run on a cloud under test "
           "(spec.providerID)?"),
    _grant(["external-secrets.io"], ["externalsecrets", "secretstores", "clustersecretstores"], ["list"],
           "cluster", ["preflight"],
           "src/xpchaos/run/preflight_loops.py: is a connection secret synced from a cloud under test (an "
           "ExternalSecret whose store's spec.provider is that cloud)?"),
    _grant(["apiextensions.crossplane.io"], ["compositions"], ["get"], "cluster", ["preflight"],
           "src/xpchaos/run/preflight_budget.py reads the failover function's detection threshold from the "
           "Composition's pipeline input"),
    _grant(["apps"], ["deployments"], ["list"], "cluster", ["preflight"],
           "src/xpchaos/run/preflight.py reads the providers' --poll from their Deployments, "
           "src/xpchaos/run/preflight_budget.py ExternalDNS's --interval from its Deployment, wherever it runs"),
    _grant(["externaldns.k8s.io"], ["dnsendpoints"], ["get"], "cluster", ["preflight"],
           "src/xpchaos/run/preflight_budget.py reads the TTL of the DNSEndpoints the composites compose"),
    # No grant for SelfSubjectAccessReviews (``require`` asks them before every command): Kubernetes' bootstrap
    # ClusterRole system:basic-user lets every authenticated identity create them, as discovery (system:discovery).
    # -- each provider's namespace (its pods; the credential Secrets) -----------------------------------------------
    _grant([""], ["pods"], ["delete"], "providers", ["revoke-identity"],
           "actions/identity.py restarts the provider's pods, so they take the broken (and then the restored) "
           "identity"),
    _grant([""], ["serviceaccounts"], ["get", "patch"], "providers", ["revoke-identity"],
           "actions/identity.py: the IRSA role annotation on the provider pods' ServiceAccount, broken and put back"),
    _grant([""], ["serviceaccounts"], ["get"], "providers", ["discover"],
           "src/xpchaos/run/discover.py reads the provider pods' ServiceAccount for its workload identity (IRSA "
           "role annotation)"),
    _grant([""], ["serviceaccounts"], ["list"], "providers", ["scenarios"],
           "src/xpchaos/run/snapshot.py: a Gherkin scenario leaves the namespace as it found it"),
    _grant(["networking.k8s.io"], ["networkpolicies"], ["get", "create", "delete"], "providers",
           ["block-provider-api"],
           "actions/network.py creates the egress-denying NetworkPolicy, verifies it, and deletes it on rollback"),
    _grant(["networking.k8s.io"], ["networkpolicies"], ["list"], "providers", ["scenarios"],
           "src/xpchaos/run/snapshot.py, as above"),
    _grant([""], ["secrets"], ["get", "create", "patch", "delete"], "providers", ["revoke-credentials"],
           "actions/credentials.py reads the Secret (its bytes go to the undo log first), writes the invalid key "
           "and then the original bytes back; delete and create are the delete-secret mode and its rollback"),
    _grant([""], ["secrets"], ["list"], "providers", ["revoke-credentials", "scenarios"],
           "actions/credentials.py names the Secrets there when the target's is missing; "
           "src/xpchaos/run/snapshot.py, as above"),
    _grant([""], ["secrets"], ["get"], "providers", ["preflight"],
           "src/xpchaos/run/preflight.py reads the key names of the credential Secrets the target pins (the values "
           "are dropped)",
           names=[CREDENTIAL_SECRETS]),
    # -- the harness's own namespace -----------------------------------------------------------------------------
    _grant(["coordination.k8s.io"], ["leases"], ["get", "create", "update", "patch", "delete"], "harness",
           ["observe", "gameday"],
           "src/xpchaos/core/lease.py: one fault at a time per target (every run, gate and game day); create takes "
           "the Lease, get reads its holder, update takes over an abandoned one, patch renews it, delete releases it"),
    _grant([""], ["secrets"], ["create", "list", "delete"], "harness",
           ["delete-providerconfig", "revoke-credentials", "revoke-identity", "block-provider-api", "health-check"],
           "src/xpchaos/core/undo_log.py keeps each undo record in a Secret of this namespace, created before the "
           "change and deleted once undone; `xpchaos restore --target` lists them, from any machine"),
    _grant([""], ["configmaps"], ["get"], "harness", ["gameday"],
           "src/xpchaos/run/stops.py: the emergency-stop ConfigMap, read by name; its existence stops the game day",
           names=[EMERGENCY_STOP]),
)


# -- the target's values for the placeholders ---------------------------------------------------------------------
def composite_groups(target: Target) -> list[str]:
    return _unique(ref.group for ref in target.composites)


def managed_kinds(target: Target, family: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(group, plural) of every managed resource the target lists, and of ``family`` (``family_kinds``)."""
    return _unique([*((ref.group, ref.plural) for p in target.providers.values() for ref in p.managed), *family])


def family_kinds(api: client.ApiClient, target: Target) -> list[tuple[str, str]]:
    """(group, plural) of every managed kind the cluster serves in the target's providers' families (CRDs of
    category ``managed``): the kinds a run resolves from the XRs at run time and the blast radius lists, which a
    target need not name. One LIST of CRDs."""
    families = {graph.family_group(p.provider_config.group) for p in target.providers.values()}
    ext: Any = client.ApiextensionsV1Api(api)
    found = []
    for crd in ext.list_custom_resource_definition(_request_timeout=TIMEOUT).items:
        spec = crd.spec
        if "managed" in (spec.names.categories or []) and graph.family_group(spec.group) in families:
            found.append((spec.group, spec.names.plural))
    return sorted(found)


def provider_config_groups(target: Target) -> list[str]:
    return _unique(p.provider_config.group for p in target.providers.values())


def provider_namespaces(target: Target) -> list[str]:
    """The namespaces of the providers' pods and of the credential Secrets the target pins."""
    found = [p.pods_namespace for p in target.providers.values()]
    found += [p.credentials.namespace for p in target.providers.values() if p.credentials is not None]
    return _unique(found)


def harness_namespace(target: Target) -> str:
    return target.safety.lease.namespace


def resource_names(target: Target, names: tuple[str, ...], namespace: str) -> list[str]:
    out: list[str] = []
    for name in names:
        if name == CREDENTIAL_SECRETS:
            out += [p.credentials.name for p in target.providers.values()
                    if p.credentials is not None and p.credentials.namespace == namespace]
        elif name == EMERGENCY_STOP:
            out.append(target.safety.emergency_stop.name)
        else:
            out.append(name)
    return _unique(out)


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


# -- what a use needs, as SelfSubjectAccessReviews ----------------------------------------------------------------
@dataclass(frozen=True)
class Access:
    """One permission, as ``kubectl auth can-i`` and a SelfSubjectAccessReview ask it."""

    verb: str
    resource: str
    group: str = ""
    namespace: str = ""  # "" cluster-scoped, or all namespaces (with all_namespaces)
    name: str = ""
    all_namespaces: bool = False

    def what(self) -> str:
        """``delete providerconfigs.aws.upbound.io`` (``-n NS`` / ``-A`` when it is not cluster-scoped)."""
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        resource += f"/{self.name}" if self.name else ""
        where = " -A" if self.all_namespaces else (f" -n {self.namespace}" if self.namespace else "")
        return f"{self.verb} {resource}{where}"

    def can_i(self, kubeconfig: str | None = None, context: str | None = None) -> str:
        config = (f" --kubeconfig {kubeconfig}" if kubeconfig else "") + (f" --context {context}" if context else "")
        return f"kubectl auth can-i {self.what()}{config}"


# Some kinds are read in every namespace (all_namespaces) though their grant sits in a ClusterRole.
_ALL_NAMESPACES = {("", "events"), ("", "pods")}


def needed(target: Target | None, uses: Iterable[Use], family: Iterable[tuple[str, str]] = ()) -> list[Access]:
    """Every permission ``uses`` take against ``target``'s cluster, concrete (no v1/v2 twins: the groups the
    target really has; ``family``: the managed kinds ``family_kinds`` found besides those the target lists).
    Without a target (``discover`` writes one), those that do not depend on it."""
    family = list(family)
    wanted = set(uses)
    out: list[Access] = []
    for grant in GRANTS:
        if not grant.uses & wanted or not applies(target, grant):
            continue
        if target is None:
            if grant.where == "cluster" and not ({COMPOSITE, MANAGED, PROVIDER_CONFIG} & set(grant.groups)):
                every = (grant.groups[0], grant.resources[0]) in _ALL_NAMESPACES
                out += [Access(v, r, g, "", "", every) for g in grant.groups for r in grant.resources
                        for v in grant.verbs]
            continue
        for group, resource in _kinds(target, grant, family):
            for namespace in namespaces_of(target, grant):
                names = resource_names(target, grant.names, namespace) or [""]
                every = grant.where == "cluster" and (group, resource) in _ALL_NAMESPACES
                out += [Access(verb, resource, group, namespace, name, every)
                        for verb in grant.verbs for name in names]
    return _unique(out)


def _kinds(target: Target, grant: Grant, family: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if grant.groups == (MANAGED,):
        return managed_kinds(target, family)
    if grant.groups == (COMPOSITE,):
        return _unique((ref.group, ref.plural) for ref in target.composites)
    groups = provider_config_groups(target) if grant.groups == (PROVIDER_CONFIG,) else list(grant.groups)
    resources = list(grant.resources)
    if grant.groups == (PROVIDER_CONFIG,):  # only the kinds the target's ProviderConfigs are
        kinds = {p.provider_config.plural for p in target.providers.values()}
        resources = [r for r in resources if r in kinds or r.replace("usages", "s") in kinds]
    return [(g, r) for g in groups for r in resources]


def applies(target: Target | None, grant: Grant) -> bool:
    """Whether ``target`` needs ``grant`` at all: a workload identity can only be broken where some provider's
    credentials are not a Secret the target pins (revoke-credentials refuses mode identity on a Secret); the API
    server's and DNS's Services and EndpointSlices are read only when the target writes no ``egressKeep``."""
    if target is not None and grant.uses == {"revoke-identity"}:
        return any(p.credentials is None for p in target.providers.values())
    if target is not None and grant.resources in (("services",), ("endpointslices",)):
        return not target.egress_keep  # the keep is read from the cluster only when egressKeep is not written
    return True


def namespaces_of(target: Target, grant: Grant) -> list[str]:
    """Where ``grant`` applies for ``target``: ``[""]`` cluster-wide, else its namespaces."""
    if grant.where == "providers":
        return provider_namespaces(target)
    if grant.where == "harness":
        if EMERGENCY_STOP in grant.names:
            return [target.safety.emergency_stop.namespace]
        return [harness_namespace(target)]
    return [""]


# -- asking before acting -------------------------------------------------------------------------------------------
_allowed: set[tuple[str, tuple[Access, ...]]] = set()


class Denied(InputError):
    """The harness's identity lacks a permission the command needs: refused before any change, exit code 2."""


def denied(api: client.ApiClient, accesses: Iterable[Access]) -> list[Access]:
    """The permissions of ``accesses`` the API server refuses this identity (SelfSubjectAccessReviews)."""
    auth = client.AuthorizationV1Api(api)
    refused: list[Access] = []
    for access in accesses:
        review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=access.verb, resource=access.resource, group=access.group,
                namespace=access.namespace or None, name=access.name or None)))
        answer = auth.create_self_subject_access_review(review, _request_timeout=TIMEOUT)
        if not (answer.status and answer.status.allowed):
            refused.append(access)
    return refused


LIST_CRDS = Access("list", "customresourcedefinitions", "apiextensions.k8s.io")


def require(api: client.ApiClient, target: Target | None, uses: Iterable[Use], command: str) -> None:
    """Raise ``Denied`` (one line: the first permission missing, and how to grant it) unless this identity holds
    every permission ``uses`` need, the managed kinds of the providers' families included. An API server without
    SelfSubjectAccessReviews is asked nothing."""
    uses = list(uses)
    rendered = f"xpchaos rbac --target {target.path if target is not None else 'T'}"
    try:
        if target is not None and any(MANAGED in g.groups and g.uses & set(uses) for g in GRANTS):
            refused = denied(api, [LIST_CRDS])  # first: it names the family's kinds
            asked = needed(target, uses, [] if refused else family_kinds(api, target))
        else:
            refused, asked = [], needed(target, uses)
        key = (str(api.configuration.host), tuple(asked))
        if not refused and key in _allowed:
            return  # asked already in this process (xpchaos run asks, then its safety control would again)
        refused = refused or denied(api, asked)
    except ApiException as exc:
        if exc.status == 404:
            return  # no authorization.k8s.io/v1 here: nothing to ask; the calls themselves will tell
        raise Denied(f"{command}: denied: create selfsubjectaccessreviews.authorization.k8s.io (HTTP {exc.status}: "
                     "it cannot ask the API server what this identity may do); nothing was changed; grant it "
                     f"({rendered} renders the roles)") from None
    if not refused:
        _allowed.add(key)
        return
    first = refused[0]
    more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
    role = "xpchaos-read" if set(uses) <= READ_USES else "xpchaos"
    raise Denied(f"{command}: denied: {first.what()}{more}; nothing was changed; grant it to this identity "
                 f"(role {role} of `{rendered}`), check with: {first.can_i()}")


def refused_call(exc: ApiException, command: str) -> Denied:
    """The one-line ``Denied`` for a call the API server answered 403: its own message names the verb and the
    resource (``User "..." cannot get resource "pods" in API group "" in the namespace "x"``); nothing else of the
    answer is kept."""
    message = ""
    with contextlib.suppress(ValueError, AttributeError):
        message = str(json.loads(exc.body or "{}").get("message") or "")
    why = message.partition(": ")[2] or message or f"HTTP {exc.status} {exc.reason or ''}".strip()
    return Denied(f"{command}: denied: {why.splitlines()[0] if why else 'forbidden'}; nothing was changed; grant it "
                  "to this identity (xpchaos rbac --target T renders the roles)")
