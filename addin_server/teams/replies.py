"""Replies into a conversation, for the one message the bot answers outside an invoke: the help card for a
plain chat message. The connector wants a bot token (client credentials for the bot's app id, from Entra ID
through MSAL) and the reply goes to the activity's own `serviceUrl`, which the connector's token vouched for.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from typing import Any

import msal
import requests
from microsoft_teams.api.models.activity import Activity

from addin_server.config import IdentitySettings, TeamsSettings
from addin_server.teams.cards import as_json, card_attachment

log = logging.getLogger(__name__)

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
#: A multi-tenant bot gets its token from the Bot Framework's own tenant.
BOT_FRAMEWORK_TENANT = "botframework.com"


class ConversationReplies:
    """Sends replies off the request thread, so Teams gets its HTTP answer at once."""

    def __init__(self, teams: TeamsSettings, identity: IdentitySettings) -> None:
        self.teams, self.identity = teams, identity
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override a private CA (see notes/identity.md)
        if identity.ca_file:
            self.http.verify = identity.ca_file
        self._client: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def reply(self, activity: Activity, card: dict[str, Any]) -> threading.Thread:
        """Post `card` as a reply to `activity`, in the background; returns the thread doing it."""
        thread = threading.Thread(target=self._send, args=(activity, card), name="teams-reply", daemon=True)
        thread.start()
        return thread

    def _send(self, activity: Activity, card: dict[str, Any]) -> None:
        try:
            token = self._bot_token()
            conversation = urllib.parse.quote(activity.conversation.id, safe="")
            reply_to = urllib.parse.quote(activity.id, safe="")
            url = f"{str(activity.service_url).rstrip('/')}/v3/conversations/{conversation}/activities/{reply_to}"
            body = {
                "type": "message",
                "from": {"id": activity.recipient.id, "name": activity.recipient.name},
                "recipient": {"id": activity.from_.id, "name": activity.from_.name},
                "conversation": {"id": activity.conversation.id},
                "replyToId": activity.id,
                "attachments": [as_json(card_attachment(card))],
            }
            response = self.http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=15)
            response.raise_for_status()
        except Exception as error:  # a lost reply must not take the server down; the log says why
            log.warning("could not reply in Teams conversation: %s", error)

    def _bot_token(self) -> str:
        with self._lock:
            if self._client is None:  # building it fetches the authority's discovery document
                tenant = BOT_FRAMEWORK_TENANT if self.identity.multi_tenant else self.identity.tenant_id
                self._client = msal.ConfidentialClientApplication(
                    self.teams.bot_id,
                    client_credential=self.teams.bot_secret,
                    authority=f"{self.identity.authority}/{tenant}",
                    http_client=self.http,
                    instance_discovery=self.identity.authority == "https://login.microsoftonline.com",
                )
            client = self._client
        result = client.acquire_token_for_client(scopes=[BOT_FRAMEWORK_SCOPE])
        if "access_token" not in result:
            raise RuntimeError(f"no bot token: {result.get('error_description') or result.get('error')}")
        return result["access_token"]
