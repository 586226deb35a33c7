"""Entra ID bearer tokens: signature (RS256, keys from the authority's JWKS), audience, issuer for the
token's own tenant, tenant allow-list, lifetime, scope. A user is `tid:oid`.

Rules from Microsoft's identity platform documentation on validating access tokens (v2.0 issuer per tenant,
`tid`/`oid`, `scp` for delegated and `roles` for app-only tokens); PyJWT does the cryptography, this module the
Entra-specific checks.
"""

from __future__ import annotations

from flask import Request, g

from addin_server.auth.signing_keys import SigningKeys, bearer_token, decoded_claims, invalid_token
from addin_server.auth.users import User
from addin_server.config import IdentitySettings, is_guid
from addin_server.errors import Forbidden

LEEWAY_S = 60
V1_ISSUER = "https://sts.windows.net/{tid}/"


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

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        self.signing_keys = SigningKeys(
            f"{settings.authority}/{settings.tenant_id}/v2.0/.well-known/openid-configuration", settings.ca_file
        )

    def authenticate(self, request: Request) -> User:
        token = bearer_token(request, "m365-image-addin", "an Entra ID access token")
        user = self.user_from_token(token)
        g.user_assertion = token  # for on-behalf-of calls made while serving this request
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
        signing_key = self.signing_keys.key_for(token)
        claims = decoded_claims(
            token,
            signing_key,
            audience=list(self.settings.audiences),
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "aud", "iss", "tid"], "verify_iss": False},
        )
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
