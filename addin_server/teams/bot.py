"""The bot behind `POST /api/messages`: proves the request is the connector's, reads the activity and who sent
it, refuses tenants that are not allowed, and hands the activity to its handler.

Order matters: the token is checked before anything is read or run, so a forged request costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Request
from microsoft_teams.api.models import (
    CardTaskModuleTaskInfo,
    MessagingExtensionActionResponse,
    TaskModuleContinueResponse,
)
from microsoft_teams.api.models.activity import Activity

from addin_server.config import Config
from addin_server.teams import message_extension
from addin_server.teams.activities import HANDLED_INVOKES, Caller, caller_of, read_envelope, read_invoke
from addin_server.teams.cards import as_json, card_attachment, notice_card
from addin_server.teams.connector_auth import ConnectorAuthenticator
from addin_server.teams.replies import ConversationReplies

HELP_TITLE = "Image Generator"
HELP_TEXT = (
    "Make pictures on your organization's own server: in the message box choose Image Generator → Generate an "
    "image, or search your earlier pictures under Recent images. From “…” on a message, its text starts the prompt."
)


class RecentSubmits:
    """(owner, activity id) -> job id for a few minutes: Teams resends an invoke it thinks timed out, and the
    resend must follow the first job rather than start another."""

    def __init__(self, keep_s: float = 600.0, most: int = 10_000) -> None:
        self.keep_s, self.most = keep_s, most
        self._jobs: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, owner: str, activity_id: str) -> str | None:
        with self._lock:
            entry = self._jobs.get((owner, activity_id))
            return entry[0] if entry is not None and time.monotonic() - entry[1] < self.keep_s else None

    def remember(self, owner: str, activity_id: str, job_id: str) -> None:
        with self._lock:
            self._jobs[(owner, activity_id)] = (job_id, time.monotonic())
            while len(self._jobs) > self.most:
                self._jobs.popitem(last=False)


class TeamsBot:
    """One per app; request threads share it."""

    def __init__(self, config: Config) -> None:
        self.connector = ConnectorAuthenticator(config.teams, config.identity.ca_file)
        self.allowed_tenants = config.identity.allowed_tenants
        #: Without TEAMS_BOT_SECRET the bot cannot speak outside an invoke, so a chat message gets no reply.
        self.replies = ConversationReplies(config.teams, config.identity) if config.teams.bot_secret else None
        self.recent_submits = RecentSubmits()

    def handle(self, request: Request) -> dict[str, Any] | None:
        """The invoke's answer (the HTTP body), or None for an activity that is only acknowledged."""
        received_at = time.monotonic()
        body = request.get_json(silent=True)
        self.connector.verify(request, body if isinstance(body, dict) else {})
        activity = read_envelope(body)
        assert isinstance(body, dict)
        caller = caller_of(activity)
        if activity.type == "invoke":
            return self._invoke(body, activity, caller, received_at)
        if activity.type == "message" and self.replies is not None:
            refusal = self._refusal(caller)
            self.replies.reply(activity, notice_card(*refusal) if refusal else notice_card(HELP_TITLE, HELP_TEXT))
        return None

    def _invoke(self, body: dict[str, Any], activity: Activity, caller: Caller, received_at: float) -> dict[str, Any]:
        name = body.get("name")
        if name not in HANDLED_INVOKES:
            return {}
        typed = read_invoke(body)
        refusal = self._refusal(caller)
        if refusal is not None:
            if name in ("composeExtension/query", "composeExtension/selectItem"):
                return message_extension.search_message(refusal[1])
            info = CardTaskModuleTaskInfo(title=refusal[0], card=card_attachment(notice_card(*refusal)))
            return as_json(MessagingExtensionActionResponse(task=TaskModuleContinueResponse(value=info)))
        if name == "composeExtension/query":
            return message_extension.query(typed, caller)
        if name == "composeExtension/selectItem":
            return message_extension.select_item(typed, caller)
        if name == "composeExtension/fetchTask":
            return message_extension.fetch_task(typed, caller)
        return message_extension.submit_action(typed, caller, received_at)

    def _refusal(self, caller: Caller) -> tuple[str, str] | None:
        """Why this caller may not use the app (a title and a sentence), or None."""
        if caller.tenant not in self.allowed_tenants:
            return (
                "Not available to your organization",
                "Your organization is not allowed to use this image server. Ask your IT department.",
            )
        if caller.owner is None:
            return ("Sign-in needed", "Teams did not say who you are, so no pictures can be made or found for you.")
        return None
