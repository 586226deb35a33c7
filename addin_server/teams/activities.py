"""Reading a Bot Framework activity with the Teams SDK's models, and who sent it.

The sender becomes the same `tid:oid` owner an Entra token gives in the task pane, so pictures made in Teams
are in the pane's history and the other way round.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pydantic
from microsoft_teams.api.activities import ActivityTypeAdapter
from microsoft_teams.api.models.activity import Activity

from addin_server.errors import BadRequest
from engine.api import MAX_PROMPT_CHARS

#: The invokes this bot answers; any other gets the protocol's empty answer.
HANDLED_INVOKES = (
    "composeExtension/query",
    "composeExtension/fetchTask",
    "composeExtension/submitAction",
    "composeExtension/selectItem",
)

#: The Bot Framework channel of Microsoft Teams; activities from any other channel are refused.
TEAMS_CHANNEL = "msteams"

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Caller:
    """The person behind an activity: `owner` is "tid:oid", or None when Teams did not say who they are."""

    tenant: str | None
    object_id: str | None
    name: str

    @property
    def owner(self) -> str | None:
        return f"{self.tenant}:{self.object_id}" if self.tenant and self.object_id else None


def read_envelope(body: object) -> Activity:
    """Any activity's common fields (type, sender, conversation, service URL); a malformed one is a 400."""
    if not isinstance(body, dict):
        raise BadRequest("the activity must be a JSON object", "invalid_activity")
    try:
        activity = Activity.model_validate(body)
    except pydantic.ValidationError as error:
        raise BadRequest(f"not a Bot Framework activity: {_first_problem(error)}", "invalid_activity") from None
    if not activity.service_url:
        raise BadRequest("the activity has no serviceUrl", "invalid_activity", "serviceUrl")
    if activity.channel_id != TEAMS_CHANNEL:  # the same bot reached from Web Chat, say, carries no Teams identity
        raise BadRequest(
            f"this bot answers Microsoft Teams only, not the channel {activity.channel_id!r}",
            "unsupported_channel",
            "channelId",
        )
    return activity


def read_invoke(body: dict[str, Any]) -> Any:
    """A handled invoke as the SDK's typed activity (its `value` parsed); a malformed one is a 400."""
    try:
        return ActivityTypeAdapter.validate_python(body)
    except pydantic.ValidationError as error:
        raise BadRequest(
            f"a malformed {body.get('name')} invoke: {_first_problem(error)}", "invalid_activity"
        ) from None


def caller_of(activity: Activity) -> Caller:
    """Who sent a Teams activity: the tenant Teams names in the conversation and in its channel data (they must
    agree where both are given), and the sender's Entra object id."""
    tenants = {activity.conversation.tenant_id}
    if activity.channel_data is not None and activity.channel_data.tenant is not None:
        tenants.add(activity.channel_data.tenant.id)
    tenants.discard(None)
    if len(tenants) > 1:
        raise BadRequest("the activity names two tenants", "invalid_activity", "channelData.tenant")
    sender = activity.from_
    return Caller(tenant=next(iter(tenants), None), object_id=sender.aad_object_id, name=sender.name or "")


def message_text(content: str | None, content_type: str | None) -> str:
    """The plain text of a message body (Teams sends HTML), as a starting prompt of at most the prompt limit."""
    text = content or ""
    if (content_type or "html").lower() == "html":
        text = html.unescape(_TAG.sub(" ", text))
    return _SPACE.sub(" ", text).strip()[:MAX_PROMPT_CHARS]


def _first_problem(error: pydantic.ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"] if not str(part).endswith("Activity"))
    return f"{where or 'activity'}: {problem['msg']}"
