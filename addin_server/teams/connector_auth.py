"""The Bot Framework's "connector to bot" rules: every request to `/api/messages` carries a token that the
connector signed (RS256, keys from TEAMS_OPENID_METADATA_URL), for this bot, unexpired (5 minutes of skew),
issued for the activity's own `serviceUrl` and, when the key says so, endorsed for its channel.

https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication
"""

from __future__ import annotations

from typing import Any

from flask import Request

from addin_server.auth.signing_keys import SigningKeys, bearer_token, decoded_claims, invalid_token
from addin_server.config import TeamsSettings

ISSUER = "https://api.botframework.com"
LEEWAY_S = 300


class ConnectorAuthenticator:
    """Checks the connector's token on a request; anything that fails is a 401 before any work starts."""

    def __init__(self, settings: TeamsSettings, ca_file: str = "") -> None:
        self.bot_id = settings.bot_id
        self.signing_keys = SigningKeys(settings.openid_metadata_url, ca_file)

    def verify(self, request: Request, activity: dict[str, Any]) -> dict[str, Any]:
        """The token's claims, once it is proven to be the connector's for this `activity`."""
        token = bearer_token(request, "Bot Framework", "the Bot Framework connector's token")
        key = self.signing_keys.key_for(token)
        claims = decoded_claims(
            token, key, audience=self.bot_id, issuer=ISSUER, leeway=LEEWAY_S, options={"require": ["exp", "iss", "aud"]}
        )
        endorsements = getattr(key, "_jwk_data", {}).get("endorsements")  # PyJWK keeps the raw JWK here
        if isinstance(endorsements, list) and activity.get("channelId") not in endorsements:
            raise invalid_token("the token's key is not endorsed for this channel")
        claimed = claims.get("serviceurl", claims.get("serviceUrl"))
        sent = activity.get("serviceUrl")
        if not isinstance(claimed, str) or not isinstance(sent, str) or claimed.rstrip("/") != sent.rstrip("/"):
            raise invalid_token("the token was issued for another service URL than the activity's")
        return claims
