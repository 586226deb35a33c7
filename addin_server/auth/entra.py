"""Entra ID bearer tokens: signature (RS256, keys from the authority's JWKS), audience, issuer for the
token's own tenant, tenant allow-list, lifetime, scope. A user is `tid:oid`.

Rules from ../shared/notes/identity.md; PyJWT does the cryptography, this module the Entra-specific checks.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request

import jwt
from flask import Request, g

from addin_server.auth.users import User
from addin_server.config import IdentitySettings, is_guid
from addin_server.errors import Forbidden, Unauthorized, Unavailable

MAX_TOKEN_CHARS = 16_384
LEEWAY_S = 60
V1_ISSUER = "https://sts.windows.net/{tid}/"


def invalid_token(message: str) -> Unauthorized:
    """401 with the Bearer challenge that makes Office (and Copilot) sign the user in again."""
    return Unauthorized(
        message,
        "invalid_token",
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'},
    )


def application_id(claims: dict) -> str | None:
    """The calling application's id, when `claims` are a real app-only access token; else None.

    A user's ID token also has the client id as audience and no `scp`, so it must not pass: app tokens say
    `idtyp: app`, or name their application (`azp`/`appid`) with `oid == sub`, and never carry a `nonce`.
    """
    if "nonce" in claims:
        return None
    application = claims.get("azp") or claims.get("appid")
    if not isinstance(application, str) or not application:
        return None
    service_principal = claims.get("oid") is not None and claims.get("oid") == claims.get("sub")
    return application if claims.get("idtyp") == "app" or service_principal else None


class EntraAuthenticator:
    """Validates `Authorization: Bearer` tokens; keys and issuer come from the authority's discovery document."""

    #: An unknown `kid` refetches the key set, at most this often (key rollover without a restart).
    refetch_cooldown_s = 30.0

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        self._ssl = ssl.create_default_context(cafile=settings.ca_file or None)
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    # -- the discovery document and keys ----------------------------------------------------------------------

    @property
    def discovery_url(self) -> str:
        return f"{self.settings.authority}/{self.settings.tenant_id}/v2.0/.well-known/openid-configuration"

    def jwks_client(self) -> jwt.PyJWKClient:
        """Built once: it caches the key set and refetches at most once per 30 s for an unknown `kid`."""
        with self._lock:
            if self._jwks is None:
                try:
                    with urllib.request.urlopen(self.discovery_url, timeout=10, context=self._ssl) as response:
                        document = json.load(response)
                except (OSError, ValueError) as error:
                    raise Unavailable(
                        f"the sign-in service cannot be reached ({type(error).__name__})",
                        "identity_unavailable",
                        headers={"Retry-After": "5"},
                    ) from None
                self._jwks = jwt.PyJWKClient(
                    document["jwks_uri"],
                    cache_jwk_set=True,
                    lifespan=300,
                    ssl_context=self._ssl,
                    timeout=10,
                    cooldown_duration=self.refetch_cooldown_s,
                )
            return self._jwks

    # -- validation ---------------------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> User:
        for name in ("access_token", "token", "id_token"):
            if name in request.args:
                raise invalid_token("send the token in the Authorization header, never in the URL")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "sign in: send an Entra ID access token as 'Authorization: Bearer <token>'",
                "unauthenticated",
                headers={"WWW-Authenticate": 'Bearer realm="m365-image-addin"'},
            )
        user = self.user_from_token(token.strip())
        g.user_assertion = token.strip()  # for on-behalf-of calls made while serving this request
        return user

    def user_from_token(self, token: str) -> User:
        claims = self._verified_claims(token)
        tenant = claims["tid"]
        if tenant not in self.settings.allowed_tenants:
            raise Forbidden("your organization (tenant) is not allowed to use this server", "tenant_not_allowed")
        scopes = str(claims.get("scp", "")).split()
        if self.settings.required_scope not in scopes:
            roles = set(claims.get("roles") or [])
            if "scp" not in claims and roles & set(self.settings.allowed_roles):
                application = application_id(claims)
                if application is None:
                    raise Forbidden(
                        "only an application's own access token may act without a user", "not_an_application_token"
                    )
                return User(id=f"{tenant}:app:{application}", name="application")
            raise Forbidden(
                f"the token lacks the scope {self.settings.required_scope!r}",
                "insufficient_scope",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.settings.required_scope}"'
                },
            )
        object_id = claims.get("oid")
        if not isinstance(object_id, str) or not object_id:
            raise invalid_token("the token names no user (oid)")
        name = claims.get("name") or claims.get("preferred_username") or object_id
        return User(id=f"{tenant}:{object_id}", name=str(name))

    def _verified_claims(self, token: str) -> dict:
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise invalid_token("the token is malformed") from None
        if header.get("alg") != "RS256":  # fixed in code, never taken from the token
            raise invalid_token("the token must be signed with RS256")
        try:
            signing_key = self.jwks_client().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise Unavailable(
                "the sign-in keys cannot be fetched right now", "identity_unavailable", headers={"Retry-After": "5"}
            ) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise invalid_token("the token is signed with an unknown key") from None
        try:
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=list(self.settings.audiences),
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "aud", "iss", "tid"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise invalid_token("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise invalid_token("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise invalid_token("the token is for another application (audience)") from None
        except jwt.InvalidTokenError as error:
            raise invalid_token(f"the token is not valid: {error}") from None
        tenant = claims.get("tid")
        if not is_guid(tenant):
            raise invalid_token("the token's tenant (tid) is not a tenant id")
        accepted_issuers = {f"{self.settings.authority}/{tenant}/v2.0", V1_ISSUER.format(tid=tenant)}
        if claims.get("iss") not in accepted_issuers:
            raise invalid_token("the token's issuer does not match its tenant")
        # A published key may name its issuer (templated with {tenantid}); v1 and v2 tokens share the keys,
        # so the key's issuer is compared with the token's tenant in v2 form.
        key_issuer = getattr(signing_key, "_jwk_data", {}).get("issuer")  # PyJWK keeps the raw JWK here
        if key_issuer and key_issuer.replace("{tenantid}", tenant) != f"{self.settings.authority}/{tenant}/v2.0":
            raise invalid_token("the token's issuer does not match its signing key")
        return claims
