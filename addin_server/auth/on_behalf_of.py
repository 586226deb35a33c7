"""Acting for the signed-in user on Microsoft Graph: MSAL's on-behalf-of exchange, with one token cache per
user (`acquire_token_silent` first), and the OneDrive upload of a generated document.

Consent and MFA problems come back as `ServerError`s the task pane can act on: 403 `consent_required`, or 401
`interaction_required` with the `claims` challenge to pass to `getAccessToken({authChallenge})`.
"""

from __future__ import annotations

import threading
import urllib.parse

import msal
import requests

from addin_server.auth.users import User
from addin_server.config import IdentitySettings
from addin_server.errors import BadGateway, Forbidden, NotConfigured, Unauthorized

GRAPH_SCOPES = ["https://graph.microsoft.com/Files.ReadWrite"]
SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024
UPLOAD_CHUNK = 10 * 320 * 1024  # Graph wants multiples of 320 KiB


class OnBehalfOf:
    """One MSAL confidential client per tenant, one token cache per user, shared by request threads."""

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override a private CA (see notes/identity.md)
        if settings.ca_file:
            self.http.verify = settings.ca_file
        self._clients: dict[str, msal.ConfidentialClientApplication] = {}
        self._caches: dict[str, msal.SerializableTokenCache] = {}
        self._lock = threading.Lock()
        self._sign_in_client: msal.ConfidentialClientApplication | None = None
        self._sign_in_lock = threading.Lock()

    def _client(self, tenant: str, cache: msal.SerializableTokenCache) -> msal.ConfidentialClientApplication:
        # MSAL keeps its cache on the client, so a client per user would be simplest; a client per tenant with
        # the user's cache swapped in under the lock keeps discovery to once per tenant.
        if tenant not in self._clients:
            self._clients[tenant] = msal.ConfidentialClientApplication(
                self.settings.client_id,
                client_credential=self.settings.client_secret,
                authority=f"{self.settings.authority}/{tenant}",
                http_client=self.http,
                instance_discovery=self.settings.authority == "https://login.microsoftonline.com",
            )
        client = self._clients[tenant]
        client.token_cache = cache
        return client

    def sign_in_client(self) -> msal.ConfidentialClientApplication:
        """The client for the sign-in dialog: the configured tenant (or organizations), no shared user cache.

        Built once: building one fetches the authority's discovery document.
        """
        with self._sign_in_lock:
            if self._sign_in_client is None:
                self._sign_in_client = msal.ConfidentialClientApplication(
                    self.settings.client_id,
                    client_credential=self.settings.client_secret or None,
                    authority=f"{self.settings.authority}/{self.settings.tenant_id}",
                    http_client=self.http,
                    instance_discovery=self.settings.authority == "https://login.microsoftonline.com",
                )
            return self._sign_in_client

    def graph_token(self, user: User, assertion: str) -> str:
        """A Graph access token for `user`: from their cache when it holds one, else by on-behalf-of."""
        if not self.settings.client_secret:
            raise NotConfigured("saving to OneDrive needs ENTRA_CLIENT_SECRET on the server", "obo_not_configured")
        tenant, _, object_id = user.id.partition(":")
        with self._lock:
            cache = self._caches.setdefault(user.id, msal.SerializableTokenCache())
            client = self._client(tenant, cache)
            accounts = [a for a in client.get_accounts() if a.get("home_account_id") == f"{object_id}.{tenant}"]
            result = client.acquire_token_silent(GRAPH_SCOPES, account=accounts[0]) if accounts else None
            if not result:
                result = client.acquire_token_on_behalf_of(assertion, GRAPH_SCOPES)
        if "access_token" in result:
            return result["access_token"]
        description = result.get("error_description", "")
        if result.get("claims") or result.get("error") == "interaction_required":
            raise Unauthorized(
                "Microsoft asks you to sign in again (MFA or a policy)",
                "interaction_required",
                extra={"claims": result.get("claims", "")},
            )
        if "AADSTS65001" in description or result.get("error") == "consent_required":
            raise Forbidden(
                "consent for OneDrive access is missing; ask your admin or sign in with consent", "consent_required"
            )
        raise BadGateway(f"the token exchange failed: {result.get('error', 'unknown')}", "obo_failed")

    def upload_to_onedrive(self, token: str, name: str, data: bytes) -> str:
        """Upload to the user's OneDrive folder (an upload session above 4 MB); return the file's web URL."""
        path = urllib.parse.quote(f"{self.settings.onedrive_folder}/{name}")
        base = f"{self.settings.graph_url}/v1.0/me/drive/root:/{path}"
        headers = {"Authorization": f"Bearer {token}"}
        if len(data) <= SIMPLE_UPLOAD_LIMIT:
            response = self.http.put(f"{base}:/content", data=data, headers=headers, timeout=120)
        else:
            session = self.http.post(
                f"{base}:/createUploadSession",
                json={"item": {"@microsoft.graph.conflictBehavior": "rename"}},
                headers=headers,
                timeout=60,
            )
            _raise_for_graph(session)
            upload_url = session.json()["uploadUrl"]
            for start in range(0, len(data), UPLOAD_CHUNK):
                chunk = data[start : start + UPLOAD_CHUNK]
                response = self.http.put(
                    upload_url,
                    data=chunk,
                    timeout=120,
                    headers={"Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{len(data)}"},
                )
                _raise_for_graph(response)
        _raise_for_graph(response)
        return response.json()["webUrl"]


def _raise_for_graph(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise BadGateway(f"OneDrive answered {response.status_code}", "onedrive_failed")
