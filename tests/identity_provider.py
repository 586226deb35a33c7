"""A local OpenID provider that speaks Entra ID's protocol over HTTPS on a loopback port, with its own test CA:
discovery document, JWKS with key rotation, a token endpoint for the on-behalf-of grant, and a fake of the
Microsoft Graph upload endpoints. Tests mint tokens with `token(...)`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from addin_server import dev_cert

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-0000-0000-0000-000000000001"
OTHER_TENANT = "bbbbbbbb-0000-0000-0000-000000000002"


def serve_https(handler: type[BaseHTTPRequestHandler], certfile: Path, keyfile: Path):
    """Serve `handler` over HTTPS on a free loopback port, in a thread; returns the server and its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}"


class LocalIdentityProvider:
    """Start with `start()`; `ca_file` is the PEM to trust; `base_url` is the ENTRA_AUTHORITY."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current_kid = self.rotate()
        self.fail_keys = False
        self.requests: list[str] = []
        self.obo_error: dict | None = None
        self.uploads: dict[str, bytes] = {}
        self.authorization_codes: dict[str, dict] = {}
        self.client_credentials: list[dict] = []
        self._write_certificates()

    # -- keys and tokens ------------------------------------------------------------------------------------

    def rotate(self) -> str:
        """A new signing key becomes current; old ones stay published until removed."""
        kid = uuid.uuid4().hex[:16]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current_kid = kid
        return kid

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        tenant = overrides.pop("tid", TENANT)
        claims = {
            "aud": CLIENT_ID,
            "iss": f"{self.base_url}/{tenant}/v2.0",
            "tid": tenant,
            "oid": "user-alice",
            "name": "Alice",
            "scp": "access_as_user",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "ver": "2.0",
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not None}

    def token(self, kid: str | None = None, **overrides) -> str:
        kid = kid or self.current_kid
        return jwt.encode(self.claims(**overrides), self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.keys.items():
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**public, "kid": kid, "use": "sig", "issuer": f"{self.base_url}/{{tenantid}}/v2.0"})
        return {"keys": keys}

    def public_pem(self) -> bytes:
        return (
            self.keys[self.current_kid]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    # -- the HTTPS server ----------------------------------------------------------------------------------------

    def _write_certificates(self) -> None:
        """The provider's TLS certificate, from its own CA (made the way `addin-server dev-cert` makes them)."""
        files = dev_cert.create(self.folder / "tls", hosts=("127.0.0.1", "localhost"))
        self.ca_file, self._cert, self._key = files.ca_file, files.certfile, files.keyfile

    def server_env(self) -> dict[str, str]:
        """The settings that make a server sign people in here."""
        return {
            "ENTRA_CLIENT_ID": CLIENT_ID,
            "ENTRA_TENANT_ID": TENANT,
            "ENTRA_AUTHORITY": self.base_url,
            "ENTRA_CA_FILE": str(self.ca_file),
        }

    def start(self) -> LocalIdentityProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                provider.requests.append(f"GET {self.path}")
                provider._get(self)

            def do_POST(self) -> None:
                provider.requests.append(f"POST {self.path}")
                provider._post(self)

            def do_PUT(self) -> None:
                provider.requests.append(f"PUT {self.path}")
                provider._put(self)

        self.server, self.base_url = serve_https(Handler, self._cert, self._key)
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _reply(self, handler, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _get(self, handler) -> None:
        path = urllib.parse.urlparse(handler.path).path
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            issuer_tenant = "{tenantid}" if tenant in ("organizations", "common") else tenant
            return self._reply(
                handler,
                200,
                {
                    "issuer": f"{self.base_url}/{issuer_tenant}/v2.0",
                    "jwks_uri": f"{self.base_url}/common/discovery/v2.0/keys",
                    "authorization_endpoint": f"{self.base_url}/{tenant}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{self.base_url}/{tenant}/oauth2/v2.0/token",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        if path.endswith("/oauth2/v2.0/authorize"):
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(handler.path).query))
            code = uuid.uuid4().hex
            self.authorization_codes[code] = query
            location = f"{query['redirect_uri']}?{urllib.parse.urlencode({'code': code, 'state': query['state']})}"
            handler.send_response(302)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return None
        if path == "/common/discovery/v2.0/keys":
            if self.fail_keys:
                return self._reply(handler, 500, {"error": "server_error"})
            return self._reply(handler, 200, self.jwks())
        return self._reply(handler, 404, {"error": "not_found"})

    def _post(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        path = urllib.parse.urlparse(handler.path).path
        if path.endswith("/oauth2/v2.0/token"):
            form = dict(urllib.parse.parse_qsl(body.decode()))
            if form.get("grant_type") == "authorization_code":
                return self._authorization_code(handler, path.split("/")[1], form)
            if form.get("grant_type") == "client_credentials":  # a bot's token for the Bot Framework connector
                self.client_credentials.append(form)
                token = f"bot-token-for-{form.get('client_id')}"
                return self._reply(handler, 200, {"token_type": "Bearer", "access_token": token, "expires_in": 3600})
            if self.obo_error is not None:
                return self._reply(handler, 400, self.obo_error)
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or "assertion" not in form:
                return self._reply(handler, 400, {"error": "unsupported_grant_type"})
            assertion = jwt.decode(form["assertion"], options={"verify_signature": False})
            client_info = (
                base64.urlsafe_b64encode(json.dumps({"uid": assertion["oid"], "utid": assertion["tid"]}).encode())
                .decode()
                .rstrip("=")
            )
            graph_token = f"graph-token-for-{assertion['tid']}:{assertion['oid']}"
            id_token = jwt.encode(
                {
                    "iss": f"{self.base_url}/{assertion['tid']}/v2.0",
                    "aud": CLIENT_ID,
                    "oid": assertion["oid"],
                    "tid": assertion["tid"],
                    "sub": assertion["oid"],
                    "preferred_username": f"{assertion['oid']}@contoso.test",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 3600,
                },
                "an unsigned test id token, never checked",
                algorithm="HS256",
            )
            return self._reply(
                handler,
                200,
                {
                    "token_type": "Bearer",
                    "access_token": graph_token,
                    "expires_in": 3600,
                    "scope": form.get("scope", ""),
                    "client_info": client_info,
                    "id_token": id_token,
                },
            )
        if path.startswith("/graph/v1.0/me/drive/root:/") and path.endswith(":/createUploadSession"):
            name = urllib.parse.unquote(path.split("root:/", 1)[1].rsplit(":/", 1)[0])
            return self._reply(handler, 200, {"uploadUrl": f"{self.base_url}/graph/upload/{urllib.parse.quote(name)}"})
        return self._reply(handler, 404, {"error": "not_found"})

    def _authorization_code(self, handler, tenant: str, form: dict) -> None:
        """The code grant of the sign-in dialog: PKCE is checked, the id token carries the flow's nonce."""
        request = self.authorization_codes.pop(form.get("code", ""), None)
        if request is None:
            return self._reply(handler, 400, {"error": "invalid_grant", "error_description": "unknown code"})
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).decode().rstrip("=")
        if challenge != request.get("code_challenge"):
            return self._reply(
                handler, 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            )
        tenant = TENANT if tenant in ("organizations", "common") else tenant
        oid = "dialog-user"
        id_token = jwt.encode(
            {
                "iss": f"{self.base_url}/{tenant}/v2.0",
                "aud": CLIENT_ID,
                "oid": oid,
                "tid": tenant,
                "sub": oid,
                "nonce": request.get("nonce"),
                "name": "Dialog User",
                "iat": int(time.time()),
                "exp": int(time.time()) + 3600,
            },
            self.keys[self.current_kid],
            algorithm="RS256",
            headers={"kid": self.current_kid},
        )
        client_info = base64.urlsafe_b64encode(json.dumps({"uid": oid, "utid": tenant}).encode()).decode().rstrip("=")
        return self._reply(
            handler,
            200,
            {
                "token_type": "Bearer",
                "access_token": self.token(oid=oid, name="Dialog User"),
                "expires_in": 3600,
                "scope": request.get("scope", ""),
                "id_token": id_token,
                "client_info": client_info,
            },
        )

    def _put(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        path = urllib.parse.unquote(urllib.parse.urlparse(handler.path).path)
        authorization = handler.headers.get("Authorization", "")
        if path.startswith("/graph/upload/"):
            name = path[len("/graph/upload/") :]
            start, end, total = _content_range(handler.headers["Content-Range"])
            self.uploads[name] = self.uploads.get(name, b"")[:start] + body
            if end + 1 < total:
                return self._reply(handler, 202, {"nextExpectedRanges": [f"{end + 1}-"]})
            return self._reply(handler, 201, {"id": "item", "name": name, "webUrl": f"https://onedrive.test/{name}"})
        if path.startswith("/graph/v1.0/me/drive/root:/") and path.endswith(":/content"):
            if not authorization.startswith("Bearer graph-token-for-"):
                return self._reply(handler, 401, {"error": {"code": "InvalidAuthenticationToken"}})
            name = path.split("root:/", 1)[1].rsplit(":/", 1)[0]
            self.uploads[name] = body
            return self._reply(handler, 201, {"id": "item", "name": name, "webUrl": f"https://onedrive.test/{name}"})
        return self._reply(handler, 404, {"error": "not_found"})


def _content_range(header: str) -> tuple[int, int, int]:
    span, total = header.removeprefix("bytes ").split("/")
    start, end = span.split("-")
    return int(start), int(end), int(total)
