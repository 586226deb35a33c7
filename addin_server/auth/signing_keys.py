"""The keys that sign tokens, as an OpenID provider publishes them: the discovery document names the key set
(JWKS), which is fetched once, cached, and refetched when a token names an unknown key id (key rollover).

Entra ID (user tokens) and the Bot Framework (Teams' requests) both publish keys this way.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from typing import Any

import jwt
from flask import Request

from addin_server.errors import Unauthorized, Unavailable

MAX_TOKEN_CHARS = 16_384


def invalid_token(message: str) -> Unauthorized:
    """401 with the Bearer challenge that makes Office (and Copilot) sign the user in again."""
    return Unauthorized(
        message,
        "invalid_token",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{_quotable(message)}"'},
    )


def _quotable(text: str) -> str:
    """`text` as RFC 6750 allows inside a quoted `error_description`: printable ASCII without `"` or `\\`."""
    return "".join(char if " " <= char <= "~" and char not in '"\\' else "'" if char == '"' else " " for char in text)


def bearer_token(request: Request, realm: str, kind: str) -> str:
    """The request's `Authorization: Bearer` token (`kind` says which, for the error); a token in the URL or none
    at all is a 401."""
    for name in ("access_token", "token", "id_token"):
        if name in request.args:
            raise invalid_token("send the token in the Authorization header, never in the URL")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            f"sign in: send {kind} as 'Authorization: Bearer <token>'",
            "unauthenticated",
            headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )
    return token.strip()


def decoded_claims(token: str, key: jwt.PyJWK, **checks: Any) -> dict[str, Any]:
    """`jwt.decode` with RS256 only and `checks` (audience, issuer, leeway, options); a failure is a 401 that
    says what was wrong."""
    try:
        return jwt.decode(token, key.key, algorithms=["RS256"], **checks)
    except jwt.ExpiredSignatureError:
        raise invalid_token("the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise invalid_token("the token is not valid yet") from None
    except jwt.InvalidAudienceError:
        raise invalid_token("the token is for another application (audience)") from None
    except jwt.InvalidIssuerError:
        raise invalid_token("the token's issuer is not accepted") from None
    except jwt.InvalidTokenError as error:
        raise invalid_token(f"the token is not valid: {error}") from None


def unavailable(what: str) -> Unavailable:
    return Unavailable(f"{what} cannot be reached right now", "identity_unavailable", headers={"Retry-After": "5"})


class SigningKeys:
    """The RS256 keys published at `discovery_url`'s `jwks_uri`; `ca_file` adds a CA to trust for both."""

    #: An unknown `kid` refetches the key set, at most this often (key rollover without a restart).
    refetch_cooldown_s = 30.0

    def __init__(self, discovery_url: str, ca_file: str = "") -> None:
        self.discovery_url = discovery_url
        self._ssl = ssl.create_default_context(cafile=ca_file or None)
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def key_for(self, token: str) -> jwt.PyJWK:
        """The published key that signed `token`; a malformed token, another algorithm than RS256 or an
        unknown key is a 401, an unreachable provider a 503 (never a way in)."""
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise invalid_token("the token is malformed") from None
        if header.get("alg") != "RS256":  # fixed in code, never taken from the token
            raise invalid_token("the token must be signed with RS256")
        try:
            return self._client().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise unavailable("the signing keys") from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise invalid_token("the token is signed with an unknown key") from None

    def _client(self) -> jwt.PyJWKClient:
        """Built once: it caches the key set and refetches at most once per cooldown for an unknown `kid`."""
        with self._lock:
            if self._jwks is None:
                try:
                    with urllib.request.urlopen(self.discovery_url, timeout=10, context=self._ssl) as response:
                        document = json.load(response)
                    jwks_uri = document["jwks_uri"]
                except (OSError, ValueError, KeyError, TypeError) as error:
                    raise unavailable(f"the sign-in service ({type(error).__name__})") from None
                self._jwks = jwt.PyJWKClient(
                    jwks_uri,
                    cache_jwk_set=True,
                    lifespan=300,
                    ssl_context=self._ssl,
                    timeout=10,
                    cooldown_duration=self.refetch_cooldown_s,
                )
            return self._jwks
