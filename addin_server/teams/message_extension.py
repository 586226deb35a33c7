"""The message extension's invokes, each answered inside Teams' 5 seconds (the answer is the HTTP body):

- `composeExtension/query` (command `recent`): the caller's own pictures whose prompt has the text, paged;
- `composeExtension/fetchTask` (command `generate`): the dialog page, started from the message's text if any;
- `composeExtension/submitAction`: the chosen picture's card; a prompt alone (a client without dialogs) gets
  the card when it is ready within TEAMS_INVOKE_WAIT_S, else a dialog that follows the job;
- `composeExtension/selectItem`: a search hit's card, with fresh links.

No handler ever waits for a picture longer than that; an error becomes a sentence in Teams, not an HTTP error.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from microsoft_teams.api.models import (
    MessagingExtensionActionResponse,
    MessagingExtensionAttachment,
    MessagingExtensionAttachmentLayout,
    MessagingExtensionResponse,
    MessagingExtensionResult,
    MessagingExtensionResultType,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    UrlTaskModuleTaskInfo,
)

from addin_server.audit import audit_generation
from addin_server.auth.users import User
from addin_server.errors import ServerError, TooManyRequests
from addin_server.images.presets import STYLE_PRESETS, shape_sizes, styled_prompt
from addin_server.images.public_api import public_image_url
from addin_server.images.public_links import THUMBNAIL_SIDE
from addin_server.images.requests import parse_job_request, request_limits
from addin_server.images.store import ImageRecord
from addin_server.public_urls import external_url
from addin_server.rate_limit import count_generation
from addin_server.services import services
from addin_server.teams.activities import Caller, message_text
from addin_server.teams.cards import as_json, card_attachment, picture_card, search_result
from engine.api import JobState

GENERATE_COMMAND = "generate"
SEARCH_COMMAND = "recent"
#: Teams asks for 25 results a page; never more than this.
MAX_RESULTS = 25
#: Paging past this many pictures finds none (nobody has a million); larger skips are clamped to it.
MAX_SKIP = 1_000_000
DIALOG_WIDTH, DIALOG_HEIGHT = 720, 640


def results(attachments: list[MessagingExtensionAttachment]) -> MessagingExtensionResult:
    return MessagingExtensionResult(
        type=MessagingExtensionResultType.RESULT,
        attachment_layout=MessagingExtensionAttachmentLayout.LIST,
        attachments=attachments,
    )


def card_result(image: ImageRecord) -> dict[str, Any]:
    """The picture's card into the compose box."""
    card = picture_card(image, public_image_url(image.id))
    return as_json(MessagingExtensionActionResponse(compose_extension=results([card_attachment(card)])))


def task_message(text: str) -> dict[str, Any]:
    """A sentence in the dialog (or in place of it)."""
    return as_json(MessagingExtensionActionResponse(task=TaskModuleMessageResponse(value=text)))


def search_message(text: str) -> dict[str, Any]:
    result = MessagingExtensionResult(type=MessagingExtensionResultType.MESSAGE, text=text)
    return as_json(MessagingExtensionResponse(compose_extension=result))


def dialog(title: str, prompt: str = "", job: str = "") -> dict[str, Any]:
    """The dialog page, with a starting prompt or a job to follow. The prompt rides in the URL's fragment, which
    browsers never send: a message's text must not reach access logs or proxies (AUDIT_PROMPTS holds for it)."""
    url = external_url("teams.dialog", **({"job": job} if job else {}))
    if prompt:
        url += "#" + urllib.parse.urlencode({"prompt": prompt})
    info = UrlTaskModuleTaskInfo(title=title, url=url, fallback_url=url, width=DIALOG_WIDTH, height=DIALOG_HEIGHT)
    return as_json(MessagingExtensionActionResponse(task=TaskModuleContinueResponse(value=info)))


# -- the invokes -------------------------------------------------------------------------------------------------


def query(activity: Any, caller: Caller) -> dict[str, Any]:
    """Search command `recent`: the caller's pictures whose prompt contains `query` (empty: the newest)."""
    value = activity.value
    if value.command_id != SEARCH_COMMAND:
        return search_message(f"This app has no search command {value.command_id!r}.")
    text = next((str(p.value or "") for p in value.parameters or [] if p.name == "query"), "").strip()
    options = value.query_options
    skip = min(MAX_SKIP, max(0, int(options.skip or 0))) if options else 0  # SQLite takes 64-bit offsets only
    count = min(MAX_RESULTS, max(1, int(options.count or MAX_RESULTS))) if options else MAX_RESULTS
    images = services().store.search_images(_owner(caller), text, skip, count)
    if not images and skip == 0:
        return search_message(
            f"No pictures of yours match “{text}”." if text else "You have no pictures yet: use Generate an image."
        )
    attachments = [
        search_result(
            image, picture_card(image, public_image_url(image.id)), public_image_url(image.id, THUMBNAIL_SIDE)
        )
        for image in images
    ]
    return as_json(MessagingExtensionResponse(compose_extension=results(attachments)))


def select_item(activity: Any, caller: Caller) -> dict[str, Any]:
    """A tapped search hit: its card, with links made now."""
    image_id = activity.value.get("image_id") if isinstance(activity.value, dict) else None
    image = services().store.image(str(image_id), _owner(caller)) if image_id else None
    if image is None:
        return search_message("That picture is no longer available.")
    return card_result(image)


def fetch_task(activity: Any, caller: Caller) -> dict[str, Any]:
    """Action command `generate`: open the dialog; from "…" on a message, that message's text is the prompt."""
    if activity.value.command_id != GENERATE_COMMAND:
        return task_message(f"This app has no command {activity.value.command_id!r}.")
    payload = activity.value.message_payload
    body = payload.body if payload is not None else None
    prompt = message_text(body.content, body.content_type) if body is not None else ""
    return dialog("Generate an image", prompt=prompt)


def submit_action(activity: Any, caller: Caller, received_at: float) -> dict[str, Any]:
    """The dialog's choice (`image_id`), or a prompt alone from a client without dialogs."""
    data = activity.value.data if isinstance(activity.value.data, dict) else {}
    if data.get("image_id"):
        image = services().store.image(str(data["image_id"]), _owner(caller))
        return card_result(image) if image is not None else task_message("That picture is no longer available.")
    if isinstance(data.get("prompt"), str) and data["prompt"].strip():
        return _generate_within_the_invoke(activity, caller, data, received_at)
    return task_message("Describe the picture you want, then choose one to post.")


def _generate_within_the_invoke(
    activity: Any, caller: Caller, data: dict[str, Any], received_at: float
) -> dict[str, Any]:
    owner = _owner(caller)
    bot = services().teams
    assert bot is not None
    job_id = bot.recent_submits.get(owner, activity.id)  # Teams retries an invoke it thinks timed out
    if job_id is None:
        try:
            job_id = _submit(owner, caller, data)
        except ServerError as error:
            return task_message(error.message)
        bot.recent_submits.remember(owner, activity.id, job_id)
    jobs = services().jobs
    remaining = received_at + services().config.teams.invoke_wait_s - time.monotonic()
    try:
        with services().waits.held(owner):
            jobs.wait_recorded(job_id, timeout=max(0.0, remaining))
    except TooManyRequests:
        pass  # the user already holds enough waiting requests: the dialog follows this job instead
    view = jobs.view(job_id, owner)
    if view.state is JobState.SUCCEEDED and view.record.images:
        return card_result(view.record.images[0])
    if view.state.is_final:
        return task_message(f"No picture this time: {view.record.error or view.state.value}.")
    return dialog("Your picture is on its way", job=job_id)


def _submit(owner: str, caller: Caller, data: dict[str, Any]) -> str:
    """Start a one-picture job from the submitted prompt, shape and style, with the pane's checks and limits."""
    style = data.get("style") if data.get("style") in STYLE_PRESETS else "none"
    sizes = shape_sizes(services().engine.limits())
    body = {"prompt": styled_prompt(str(data["prompt"]).strip(), str(style)), "n": 1}
    if data.get("shape") in sizes:
        body["size"] = sizes[str(data["shape"])]
    generation = parse_job_request(body, services().engine.model_names(), request_limits())
    count_generation(owner)
    job_id = services().jobs.submit(generation, owner)
    audit_generation(User(id=owner, name=caller.name), generation, "teams.submit", job_id)
    return job_id


def _owner(caller: Caller) -> str:
    owner = caller.owner
    assert owner is not None  # the bot refuses activities without one before dispatching
    return owner
