"""The Copilot files of the app package: `declarativeAgent.json` (schema v1.8), `ai-plugin.json` (v2.4) and
`openapi.yaml` (OpenAPI 3.0, in the subset Copilot reads: `openapi_subset.py`), all describing the same two
operations of `api.py`. The orchestrator reads the descriptions, so they say what each one means and when."""

from __future__ import annotations

from typing import Any

import yaml

from addin_server.copilot.fields import COPILOT_FIELDS, DEFAULT_SHAPE, DEFAULT_STYLE
from addin_server.images.presets import MAX_VARIATIONS, STYLE_PRESETS

AGENT_FILE, PLUGIN_FILE, OPENAPI_FILE = "declarativeAgent.json", "ai-plugin.json", "openapi.yaml"
CREATE, GET = "createImages", "getImageJob"
NAMESPACE = "privateimages"
#: Where the pictures are in an answer (RFC 9535 JSONPath), and each picture's fields the card shows.
DATA_PATH = "$.images"

INSTRUCTIONS = f"""You make pictures for people in this organization with its own image server: nothing but this
chat leaves the organization, and the pictures are not drawn by Designer or any outside service.

When the user asks for a picture, an image, an illustration, an icon or a drawing, call {CREATE}:
- `prompt`: a short visual description in English of what the picture shows: the subject, colours, positions,
  background. Plain nouns and colours work best; this model knows simple shapes, colours, positions and scenes,
  and leaves out words it does not know (the answer does not list them). Do not put the style in the prompt.
- `style`: one of {", ".join(STYLE_PRESETS)} when the user names a style ("in the flat style" -> flat,
  "watercolour" -> watercolour); otherwise {DEFAULT_STYLE}.
- `shape`: wide for slides, banners or "wider"; tall for phone screens or "taller"; standard for 4:3;
  otherwise {DEFAULT_SHAPE}.
- `n`: 1, or up to {MAX_VARIATIONS} when the user wants options to choose from.
"Another one", "more like this", "wider" or "in another style" mean: call {CREATE} again with the same prompt
and the change.

If the answer has `status` "running", the pictures are still being drawn: tell the user so in a few words and
call {GET} with its `job_id` (again while it stays "running") until the pictures come. If `status` is "failed"
or "cancelled", say what the `message` says.

Show each picture with its card. Say it was drawn on the organization's own server. This agent cannot change or
edit an existing picture or photo and cannot use pictures the user uploads: say so, and offer to draw a new one
from a description instead."""

CONVERSATION_STARTERS = [
    {"title": "Product on a desk", "text": "Make an image of our product on a desk, watercolour"},
    {"title": "Slide picture", "text": "Draw a wide picture of a yellow star on a night sky for a slide"},
    {"title": "Icon", "text": "Make a simple flat icon of a red heart on white"},
    {"title": "Choose from four", "text": "Give me four variations of a blue circle above a green square"},
    {"title": "Sketch", "text": "A pencil sketch of a sunset over the sea"},
    {"title": "Background", "text": "A calm purple background with small white stars, wide"},
]


def card_template() -> dict[str, Any]:
    """The Adaptive Card Copilot shows for each picture; `${...}` names a field of one `images` item."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "${title}", "weight": "Bolder", "wrap": True, "maxLines": 3},
            {"type": "Image", "url": "${url}", "altText": "${prompt}", "size": "Stretch"},
            {
                "type": "TextBlock",
                "text": "Drawn by ${model} on your organization's own server · seed ${seed}",
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            },
        ],
    }


def plugin_manifest(auth_reference_id: str) -> dict[str, Any]:
    """ai-plugin.json: two functions named by the OpenAPI operationIds, signed in through Entra SSO."""
    semantics = {
        "data_path": DATA_PATH,
        "properties": {"title": "$.title", "url": "$.url", "thumbnail_url": "$.thumbnail_url"},
        "static_template": card_template(),
    }
    return {
        "$schema": "https://developer.microsoft.com/json-schemas/copilot/plugin/v2.4/schema.json",
        "schema_version": "v2.4",
        "name_for_human": "Private Images",
        "namespace": NAMESPACE,
        "description_for_human": "Draw pictures on your organization's own image server.",
        "description_for_model": "Draws pictures from a text description on the organization's private server. "
        f"Use {CREATE} to draw; if it answers status running, use {GET} with the job_id.",
        "functions": [
            {
                "name": CREATE,
                "description": "Draw new pictures from a description, with an optional shape, style and count.",
                "capabilities": {"response_semantics": semantics},
            },
            {
                "name": GET,
                "description": f"Get the pictures of a drawing that {CREATE} answered with status running.",
                "capabilities": {"response_semantics": semantics},
            },
        ],
        "runtimes": [
            {
                "type": "OpenApi",
                "auth": {"type": "OAuthPluginVault", "reference_id": auth_reference_id},
                "spec": {"url": OPENAPI_FILE, "progress_style": "ShowUsageWithInput"},
                "run_for_functions": [CREATE, GET],
            }
        ],
    }


def declarative_agent(name: str) -> dict[str, Any]:
    return {
        "$schema": "https://developer.microsoft.com/json-schemas/copilot/declarative-agent/v1.8/schema.json",
        "version": "v1.8",
        "name": name,
        "description": "Makes pictures in chat with your organization's own image model, on its own server: "
        "no prompt or picture leaves the organization.",
        "instructions": INSTRUCTIONS,
        "conversation_starters": CONVERSATION_STARTERS,
        "actions": [{"id": "privateImages", "file": PLUGIN_FILE}],
    }


def _image_schema() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "One picture.",
        "properties": {
            "title": {**text, "description": "The start of the prompt, to show as the picture's title."},
            "prompt": {**text, "description": "The whole prompt the picture was drawn from (with the style)."},
            "url": {**text, "description": "The picture (PNG, at most 1024×1024); works without signing in."},
            "thumbnail_url": {**text, "description": "A small copy of the picture (at most 256×256)."},
            "seed": {"type": "integer", "description": "The seed; the same prompt and seed draw the same picture."},
            "model": {**text, "description": "The image model that drew it."},
        },
    }


def _answer_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Pictures, or where the drawing stands.",
        "properties": {
            "status": {
                "type": "string",
                "enum": ["succeeded", "running", "failed", "cancelled"],
                "description": f"succeeded: `images` holds the pictures. running: call {GET} with `job_id`.",
            },
            "job_id": {"type": "string", "description": f"The drawing's id, for {GET}."},
            "message": {"type": "string", "description": "What happened, in a sentence to pass on to the user."},
            "images": {"type": "array", "description": "The pictures (empty until done).", "items": _image_schema()},
        },
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    """The plugin's OpenAPI 3.0 description: only its two operations, flat bodies, no composition, no remote refs."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Private images for Copilot",
            "version": "1.0.0",
            "description": "Draws pictures on the organization's own image server.",
        },
        "servers": [{"url": base_url}],
        "paths": openapi_paths(),
    }


def openapi_paths(operation_prefix: str = "") -> dict[str, Any]:
    """The plugin's two operations; the server's own /openapi.json lists them too where Copilot is served, their
    operation ids prefixed (`copilotCreateImages`) so they stay unique beside the OpenAI routes'."""

    def operation_id(name: str) -> str:
        return operation_prefix + name[0].upper() + name[1:] if operation_prefix else name

    answer = {
        "description": "The pictures, or a job id to ask again",
        "content": {"application/json": {"schema": _answer_schema()}},
    }
    problem = {"description": "Bad input (the message names the field), or sign-in needed (401)"}
    body_schema = {
        "type": "object",
        "description": "What to draw.",
        "required": ["prompt"],
        "properties": {field.name: field.json_schema() for field in COPILOT_FIELDS},
    }
    return {
        "/api/copilot/images": {
            "post": {
                "operationId": operation_id(CREATE),
                "summary": "Draw pictures from a description",
                "description": "Draws 1 to 4 new pictures. Answers with the pictures when they are ready within "
                f"about 15 seconds; otherwise with status running and a job_id for {GET}.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema}}},
                "responses": {"200": answer, "400": problem, "401": problem, "429": problem},
            }
        },
        "/api/copilot/images/{job_id}": {
            "get": {
                "operationId": operation_id(GET),
                "summary": "Get the pictures of a drawing still running",
                "description": f"Waits a few seconds for the drawing {CREATE} started, then answers with "
                "its pictures, or again with status running.",
                "parameters": [
                    {
                        "name": "job_id",
                        "in": "path",
                        "required": True,
                        "description": f"The job_id {CREATE} answered with.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": answer, "401": problem, "404": problem, "429": problem},
            }
        },
    }


class _PlainYamlDumper(yaml.SafeDumper):
    """Writes a value used twice in full each time: no `&id001` anchors, which Copilot is not documented to read."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def openapi_yaml(base_url: str) -> str:
    return yaml.dump(openapi_document(base_url), Dumper=_PlainYamlDumper, sort_keys=False, allow_unicode=True)
