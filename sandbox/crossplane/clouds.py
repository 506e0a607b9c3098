"""The simulated clouds behind the providers: their API endpoints, valid credentials and external resources.

Credentials are generated per sandbox run. A provider presents the bytes of its ProviderConfig's Secret key;
the cloud accepts them only if they carry a key it issued. Messages are the ones the upjet providers surface
(docs/crossplane.md, 'Error messages'); where the source leaves a detail open (the RequestID, Azure's exact
wording) it is noted.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field

AWS_TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
AZURE_TOKEN_FILE = "/var/run/secrets/azure/tokens/azure-identity-token"
_CREDENTIALS_CHAIN = "failed to get the caller identity: GetCallerIdentity query failed: operation error STS: " \
                     "GetCallerIdentity, get identity: get credentials: failed to refresh cached credentials, "


class CloudError(Exception):
    """A call to the cloud failed; the message is what the provider would report."""


def _timeout(endpoint: str) -> CloudError:
    return CloudError(f"dial tcp {endpoint}:443: i/o timeout")


@dataclass(frozen=True)
class Presented:
    """What a provider presents to its cloud: a key from a Secret, or a workload identity (a web identity token
    for an IAM role, possibly chained to another account's role; a federated token for an Azure client)."""

    source: str  # Secret, IRSA, WebIdentity, OIDCTokenFile
    key: bytes = b""
    role_arn: str = ""
    token: bool = False  # the pod has the projected token its identity webhook mounts
    assume_role_arn: str = ""
    client_id: str = ""

    def digest(self) -> str:
        """What provider-aws caches the caller identity by (never the key itself)."""
        return hashlib.sha256(repr(self).encode()).hexdigest()


def _request_id(seed: str) -> uuid.UUID:
    # a RequestID per presented identity rather than per call, so repeats aggregate on one Event
    return uuid.uuid5(uuid.NAMESPACE_OID, seed)


@dataclass
class Cloud:
    name: str  # "aws" or "azure"
    endpoint: str  # the API address a NetworkPolicy can deny
    valid_keys: dict[str, str] = field(default_factory=dict)  # key id -> secret
    resources: set[str] = field(default_factory=set)  # external names that exist
    host: str = ""  # the API's host name, resolved through the cluster's DNS
    roles: set[str] = field(default_factory=set)  # AWS: IAM roles that trust the cluster's OIDC issuer
    clients: set[str] = field(default_factory=set)  # Azure: app registrations federated with the providers' SAs
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    subscription_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def credential_text(self) -> str:
        """A fresh valid credential in the provider's Secret format (issued and remembered by the cloud)."""
        if self.name == "aws":
            key_id = "AKIA" + secrets.token_hex(8).upper()
            secret = secrets.token_urlsafe(30)
            self.valid_keys[key_id] = secret
            return f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
        client_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(30)
        self.valid_keys[client_id] = secret
        return json.dumps({"clientId": client_id, "clientSecret": secret, "subscriptionId": str(uuid.uuid4()),
                           "tenantId": str(uuid.uuid4())})

    def authenticate(self, presented: Presented, route: str) -> str:
        """The caller identity for what the provider presents; raises CloudError as the provider would see it.
        ``route``: "" when the cloud's API can be reached, else the dial error."""
        if route:
            raise CloudError(route)
        if presented.source != "Secret":
            return self._workload_identity(presented)
        key_id, secret = self._parse(presented.key)
        if self.valid_keys.get(key_id) != secret:
            raise CloudError(self._rejected(key_id))
        return key_id

    def observe(self, external_name: str, route: str) -> bool:
        if route:
            raise CloudError(route)
        return external_name in self.resources

    def api_host(self, service: str) -> str:
        """The host a provider of ``service`` calls to observe its resources (``host`` is where it signs in)."""
        if self.name == "azure":
            return "management.azure.com"
        return "route53.amazonaws.com" if service == "route53" else f"{service}.us-east-1.amazonaws.com"

    def route_error(self, reachable: bool, dns_error: str = "") -> str:
        """The error of a call that cannot get through: a failed lookup, else a dial timeout, else ""."""
        if dns_error:
            return dns_error
        return "" if reachable else str(_timeout(self.endpoint))

    def _workload_identity(self, presented: Presented) -> str:
        if self.name == "aws":
            if not presented.token or not presented.role_arn:  # no IRSA env in the pod: the SDK falls back to IMDS
                raise CloudError(_CREDENTIALS_CHAIN + "no EC2 IMDS role found, operation error ec2imds: GetMetadata, "
                                 "http response error StatusCode: 404, request to EC2 IMDS failed")
            if presented.role_arn not in self.roles:
                raise CloudError(_CREDENTIALS_CHAIN + "failed to retrieve credentials, operation error STS: "
                                 "AssumeRoleWithWebIdentity, https response error StatusCode: 403, RequestID: "
                                 f"{_request_id(presented.role_arn)}, api error AccessDenied: Not authorized to "
                                 "perform sts:AssumeRoleWithWebIdentity")
            if presented.assume_role_arn and presented.assume_role_arn not in self.roles:
                session = presented.role_arn.rsplit("/", 1)[-1]
                raise CloudError(_CREDENTIALS_CHAIN + "operation error STS: AssumeRole, https response error "
                                 f"StatusCode: 403, RequestID: {_request_id(presented.assume_role_arn)}, api error "
                                 f"AccessDenied: User: arn:aws:sts::{_account(presented.role_arn)}:assumed-role/"
                                 f"{session}/{session} is not authorized to perform: sts:AssumeRole on resource: "
                                 f"{presented.assume_role_arn}")
            return presented.assume_role_arn or presented.role_arn
        prefix = "failed to configure the no-fork Azure client: failed to configure the provider: building account: " \
                 "could not acquire access token to parse claims: "
        if not presented.token:
            raise CloudError(prefix + f"reading OIDC token file: open {AZURE_TOKEN_FILE}: no such file or directory")
        if presented.client_id not in self.clients:
            raise CloudError(prefix + "ClientAssertionCredential authentication failed: POST https://login."
                             f"microsoftonline.com/{self.tenant_id}/oauth2/v2.0/token: 400 Bad Request: AADSTS700016: "
                             f"Application with identifier '{presented.client_id}' was not found in the directory "
                             f"'{self.tenant_id}'. This can happen if the application has not been installed by the "
                             "administrator of the tenant or consented to by any user in the tenant. You may have "
                             "sent your authentication request to the wrong tenant.")
        return presented.client_id

    def _parse(self, credential: bytes) -> tuple[str, str]:
        text = credential.decode(errors="replace")
        try:
            if self.name == "aws":
                parser = configparser.ConfigParser()
                parser.read_string(text)
                section = parser["default"]
                return section.get("aws_access_key_id", ""), section.get("aws_secret_access_key", "")
            doc = json.loads(text)
            return str(doc.get("clientId", "")), str(doc.get("clientSecret", ""))
        except (configparser.Error, KeyError, ValueError, AttributeError):
            raise CloudError(self._malformed()) from None

    def _rejected(self, key_id: str) -> str:
        if self.name == "aws":
            request_id = _request_id(key_id)
            return ("failed to get the caller identity: GetCallerIdentity query failed: operation error STS: "
                    "GetCallerIdentity, https response error StatusCode: 403, RequestID: "
                    f"{request_id}, api error InvalidClientTokenId: The security token included in the "
                    "request is invalid.")
        # the AAD wording of an invalid client secret; the provider wraps it in its terraform setup error
        return ("ClientSecretCredential authentication failed: POST https://login.microsoftonline.com/"
                "oauth2/v2.0/token: 401 Unauthorized: AADSTS7000215: Invalid client secret provided.")

    def _malformed(self) -> str:
        if self.name == "aws":
            return "failed to retrieve aws credentials from the secret: cannot parse the credentials file"
        return "failed to extract Azure credentials: cannot unmarshal the credentials JSON"


def _account(role_arn: str) -> str:
    return role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
