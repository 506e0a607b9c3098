"""The simulated clouds behind the providers: their API endpoints, valid credentials and external resources.

Credentials are generated per sandbox run. A provider presents the bytes of its ProviderConfig's Secret key;
the cloud accepts them only if they carry a key it issued. Messages are the ones the upjet providers surface
(docs/crossplane.md, 'Error messages'); where the source leaves a detail open (the RequestID, Azure's exact
wording) it is noted.
"""

from __future__ import annotations

import configparser
import json
import secrets
import uuid
from dataclasses import dataclass, field


class CloudError(Exception):
    """A call to the cloud failed; the message is what the provider would report."""


def _timeout(endpoint: str) -> CloudError:
    return CloudError(f"dial tcp {endpoint}:443: i/o timeout")


@dataclass
class Cloud:
    name: str  # "aws" or "azure"
    endpoint: str  # the API address a NetworkPolicy can deny
    valid_keys: dict[str, str] = field(default_factory=dict)  # key id -> secret
    resources: set[str] = field(default_factory=set)  # external names that exist

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

    def authenticate(self, credential: bytes, reachable: bool) -> str:
        """The caller identity for ``credential``; raises CloudError as the provider would see it."""
        if not reachable:
            raise _timeout(self.endpoint)
        key_id, secret = self._parse(credential)
        if self.valid_keys.get(key_id) != secret:
            raise CloudError(self._rejected(key_id))
        return key_id

    def observe(self, external_name: str, reachable: bool) -> bool:
        if not reachable:
            raise _timeout(self.endpoint)
        return external_name in self.resources

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
            # a RequestID per presented key rather than per call, so repeats aggregate on one Event
            request_id = uuid.uuid5(uuid.NAMESPACE_OID, key_id)
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
