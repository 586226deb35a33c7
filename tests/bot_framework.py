"""The Bot Framework's side of Teams, on loopback HTTPS (certificates from the local identity provider's CA):

- an OpenID configuration and JWKS shaped like login.botframework.com's (keys carry `endorsements`);
- connector tokens, signed like the ones Teams' requests carry (`token(...)`);
- a connector at `service_url` that records the replies the bot posts;
- activities shaped like the ones in the Teams documentation (`activity(...)`, `invoke(...)`).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.identity_provider import TENANT, LocalIdentityProvider, serve_https

BOT_ID = "99999999-8888-7777-6666-555555555555"
ISSUER = "https://api.botframework.com"


class LocalBotFramework:
    def __init__(self, identity: LocalIdentityProvider) -> None:
        self.identity = identity
        self.kid = uuid.uuid4().hex[:16]
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.replies: list[dict] = []
        self.key_fetches = 0

    # -- tokens and activities ---------------------------------------------------------------------------------

    def token(self, kid: str | None = None, key=None, algorithm: str = "RS256", **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": BOT_ID,
            "serviceurl": self.service_url,
            "nbf": now,
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        if algorithm == "none":
            return jwt.encode(claims, "", algorithm="none")
        if algorithm == "HS256":
            return jwt.encode(
                claims, "a shared secret of at least thirty-two bytes", algorithm="HS256", headers={"kid": self.kid}
            )
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid})

    def headers(self, **overrides) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**overrides)}"}

    def activity(self, kind: str = "message", user: str = "user-alice", tenant: str = TENANT, **fields) -> dict:
        """An activity from `user` in a channel of `tenant`, as Teams sends it."""
        return {
            "type": kind,
            "id": f"f:{uuid.uuid4().hex}",
            "timestamp": "2026-12-01T10:00:00.000Z",
            "localTimestamp": "2026-12-01T11:00:00.000+01:00",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": f"29:{user}", "name": user.title(), "aadObjectId": user},
            "conversation": {
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": tenant,
                "id": "19:general@thread.tacv2;messageid=1",
            },
            "recipient": {"id": f"28:{BOT_ID}", "name": "Image Generator"},
            "entities": [{"locale": "en-US", "country": "US", "platform": "Web", "type": "clientInfo"}],
            "channelData": {"tenant": {"id": tenant}, "source": {"name": "compose"}},
            "locale": "en-US",
            **fields,
        }

    def invoke(self, name: str, value: dict, **fields) -> dict:
        return self.activity("invoke", name=name, value=value, **fields)

    # -- the HTTPS server --------------------------------------------------------------------------------------

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/connector/"

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "endorsements": ["msteams", "webchat"]}]}

    def server_env(self) -> dict[str, str]:
        """What makes a server take Teams' requests from here (on top of the identity provider's)."""
        return {
            **self.identity.server_env(),
            "TEAMS_BOT_ID": BOT_ID,
            "TEAMS_BOT_SECRET": "bot-secret",
            "TEAMS_OPENID_METADATA_URL": self.metadata_url,
            "SERVER_SECRET_KEY": "a test secret that signs the public picture links",
        }

    def start(self) -> LocalBotFramework:
        framework = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = urllib.parse.urlparse(self.path).path
                if path == "/v1/.well-known/openidconfiguration":
                    return framework._reply(
                        self,
                        {
                            "issuer": ISSUER,
                            "authorization_endpoint": "https://invalid.botframework.com",
                            "jwks_uri": f"{framework.base_url}/v1/.well-known/keys",
                            "id_token_signing_alg_values_supported": ["RS256"],
                        },
                    )
                if path == "/v1/.well-known/keys":
                    framework.key_fetches += 1
                    return framework._reply(self, framework.jwks())
                return framework._reply(self, {"error": "not_found"}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                framework.replies.append(
                    {"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}
                )
                return framework._reply(self, {"id": "reply-1"}, 201)

        self.server, self.base_url = serve_https(Handler, self.identity._cert, self.identity._key)
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _reply(self, handler, body: object, status: int = 200) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
