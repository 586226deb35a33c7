"""`addin-server manifest`: the add-in-only XML manifest (Word and PowerPoint task pane, a Home-tab button) and
a unified-manifest app package (`manifest.json` with the add-in under `extensions`, plus its two icons; with a
bot id also the Teams bot and its message extension; with a Copilot SSO reference also the declarative agent,
its API plugin and that plugin's OpenAPI file).

Both ship because Office on Mac, on mobile, and Windows builds before 2304 read only the XML one; the unified one
hides the XML add-in (`alternates`) so users do not see it twice.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import jinja2

from addin_server.config import is_guid
from addin_server.copilot.package import (
    AGENT_FILE,
    OPENAPI_FILE,
    PLUGIN_FILE,
    declarative_agent,
    openapi_yaml,
    plugin_manifest,
)
from addin_server.errors import BadRequest
from addin_server.icons import OFFICE_SIZES, icon_png
from addin_server.resources import manifest_templates_folder

#: The newest unified-manifest schema the offline checks hold (tests/schemas/teams-v1.30.json).
UNIFIED_SCHEMA_VERSION = "1.30"
NAME = "Image Generator"
DESCRIPTION = "Generate images privately on your organization's own server and insert them into Word and PowerPoint."


class ManifestError(BadRequest):
    """A manifest option that cannot be used; the message names it."""


@dataclass(frozen=True)
class ManifestSettings:
    """Where the add-in is served and who it signs in as; the add-in id is derived from the URL unless given."""

    base_url: str
    client_id: str | None = None
    addin_id: str | None = None
    version: str = "1.0.0"
    provider: str = "Your organization"
    #: The Teams bot's app id: adds the bot and the message extension.
    bot_id: str | None = None
    #: The Copilot plugin's Entra SSO registration id: adds the declarative agent and its API plugin.
    copilot_auth_reference: str | None = None

    def checked(self) -> ManifestSettings:
        url = urlparse(self.base_url)
        if url.scheme != "https" or not url.hostname or url.path not in ("", "/") or url.query:
            raise ManifestError(
                f"--base-url must be https://HOST[:PORT] (Office loads add-ins over HTTPS only), got {self.base_url!r}"
            )
        for name, value in (("--client-id", self.client_id), ("--id", self.addin_id), ("--bot-id", self.bot_id)):
            if value is not None and not is_guid(value):
                raise ManifestError(f"{name} must be a GUID, got {value!r}")
        if not re.match(r"^\d+\.\d+\.\d+$", self.version):
            raise ManifestError(f"--version must look like 1.0.0, got {self.version!r}")
        if self.bot_id and not self.client_id:
            raise ManifestError("--bot-id needs --client-id: the Teams dialog signs people in with Teams SSO")
        if self.copilot_auth_reference is not None and (not self.client_id or not self.copilot_auth_reference.strip()):
            raise ManifestError(
                "--copilot-auth-reference needs --client-id and a registration id: Copilot signs people in with "
                "Entra SSO to this API"
            )
        addin_id = self.addin_id or str(uuid.uuid5(uuid.NAMESPACE_URL, self.base_url.rstrip("/")))
        return dataclasses.replace(self, base_url=self.base_url.rstrip("/"), addin_id=addin_id)

    @property
    def app_id(self) -> str:
        """The unified manifest's own id. Microsoft asks for a new GUID, not the XML add-in's `<Id>`: the app
        package then hides that XML add-in (`alternates`), so a person who had it does not see it twice. Derived
        from the add-in id, so every run writes the same one."""
        return str(uuid.uuid5(uuid.UUID(str(self.addin_id)), "unified-manifest"))

    @property
    def host(self) -> str:
        return urlparse(self.base_url).netloc

    @property
    def taskpane_url(self) -> str:
        return f"{self.base_url}/taskpane"

    @property
    def resource(self) -> str:
        return f"api://{self.host}/{self.client_id}"


def xml_manifest(settings: ManifestSettings) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(manifest_templates_folder()), autoescape=True, keep_trailing_newline=True
    )
    return environment.get_template("manifest.xml.j2").render(
        addin_id=settings.addin_id,
        version=f"{settings.version}.0",
        provider=settings.provider,
        name=NAME,
        description=DESCRIPTION,
        base_url=settings.base_url,
        taskpane_url=settings.taskpane_url,
        client_id=settings.client_id,
        resource=settings.resource,
    )


def unified_manifest(settings: ManifestSettings) -> dict:
    """The app manifest (schema `UNIFIED_SCHEMA_VERSION`) with the Word/PowerPoint task pane as its one extension;
    `alternateIcons` let Microsoft 365 make an XML manifest from it for Office versions that read only those."""
    icons = [{"size": size, "url": f"{settings.base_url}/icons/icon-{size}.png"} for size in (16, 32, 80)]
    manifest: dict = {
        "$schema": f"https://developer.microsoft.com/json-schemas/teams/v{UNIFIED_SCHEMA_VERSION}/MicrosoftTeams.schema.json",
        "manifestVersion": UNIFIED_SCHEMA_VERSION,
        "version": settings.version,
        "id": settings.app_id,
        "developer": {
            "name": settings.provider[:32],
            "websiteUrl": f"{settings.base_url}/",
            "privacyUrl": f"{settings.base_url}/",
            "termsOfUseUrl": f"{settings.base_url}/",
        },
        "name": {"short": NAME, "full": f"{NAME} for Microsoft 365"},
        "description": {"short": "Private image generation for Word and PowerPoint", "full": DESCRIPTION},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#2846B4",
        "validDomains": [settings.host],
        "extensions": [
            {
                "requirements": {
                    "scopes": ["document", "presentation"],
                    "capabilities": [{"name": "ImageCoercion", "minVersion": "1.1"}],
                },
                "runtimes": [
                    {
                        "requirements": {"capabilities": [{"name": "ImageCoercion", "minVersion": "1.1"}]},
                        "id": "TaskpaneRuntime",
                        "type": "general",
                        "code": {"page": settings.taskpane_url},
                        "lifetime": "short",
                        "actions": [
                            {"id": "OpenTaskpane", "type": "openPage", "pinnable": True, "view": "ImageGenerator"}
                        ],
                    }
                ],
                "ribbons": [
                    {
                        "contexts": ["default"],
                        "tabs": [
                            {
                                "builtInTabId": "TabHome",
                                "groups": [
                                    {
                                        "id": "ImageGeneratorGroup",
                                        "label": "Images",
                                        "icons": icons,
                                        "controls": [
                                            {
                                                "id": "OpenImageGenerator",
                                                "type": "button",
                                                "label": "Generate image",
                                                "icons": icons,
                                                "actionId": "OpenTaskpane",
                                                "supertip": {
                                                    "title": "Generate image",
                                                    "description": "Describe a picture, pick one, insert it.",
                                                },
                                            }
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ],
                "alternates": [
                    {"hide": {"customOfficeAddin": {"officeAddinId": settings.addin_id}}},
                    {
                        "alternateIcons": {  # the XML manifest's IconUrl and HighResolutionIconUrl
                            "icon": {"size": 32, "url": f"{settings.base_url}/icons/icon-32.png"},
                            "highResolutionIcon": {"size": 64, "url": f"{settings.base_url}/icons/icon-64.png"},
                        }
                    },
                ],
            }
        ],
    }
    if settings.client_id:
        manifest["webApplicationInfo"] = {"id": settings.client_id, "resource": settings.resource}
    if settings.bot_id:
        manifest["bots"] = [
            {"botId": settings.bot_id, "scopes": ["personal", "team", "groupChat"], "isNotificationOnly": False}
        ]
        manifest["composeExtensions"] = [teams_message_extension(settings.bot_id)]
    if settings.copilot_auth_reference:
        manifest["copilotAgents"] = {"declarativeAgents": [{"id": "privateImagesAgent", "file": AGENT_FILE}]}
    return manifest


def teams_message_extension(bot_id: str) -> dict:
    """The bot-based message extension: `generate` (a dialog; from the compose box or a message's "…") and
    `recent` (search the caller's own pictures)."""
    return {
        "botId": bot_id,
        "composeExtensionType": "botBased",
        "canUpdateConfiguration": False,
        "commands": [
            {
                "id": "generate",
                "type": "action",
                "title": "Generate an image",
                "description": "Describe a picture, choose a variation and post it",
                "context": ["compose", "message", "commandBox"],
                "fetchTask": True,
                # For clients without dialogs: the prompt alone, answered with the card or a progress dialog.
                "parameters": [
                    {"name": "prompt", "title": "Prompt", "description": "What to draw", "inputType": "textarea"}
                ],
            },
            {
                "id": "recent",
                "type": "query",
                "title": "Recent images",
                "description": "Find a picture you made before and post it",
                "context": ["compose", "commandBox"],
                "initialRun": True,
                "parameters": [
                    {
                        "name": "query",
                        "title": "Prompt contains",
                        "description": "Words from the picture's prompt (empty: the newest)",
                        "inputType": "text",
                    }
                ],
            },
        ],
    }


def app_package(settings: ManifestSettings) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(unified_manifest(settings), indent=2))
        package.writestr("color.png", icon_png(192))
        package.writestr("outline.png", icon_png(32, outline=True))
        if settings.copilot_auth_reference:
            package.writestr(AGENT_FILE, json.dumps(declarative_agent(NAME), indent=2))
            package.writestr(PLUGIN_FILE, json.dumps(plugin_manifest(settings.copilot_auth_reference), indent=2))
            package.writestr(OPENAPI_FILE, openapi_yaml(settings.base_url))
    return buffer.getvalue()


def write_manifests(settings: ManifestSettings, out: Path) -> list[Path]:
    """manifest.xml, app-package.zip and the icons (for hosting elsewhere) into `out`."""
    settings = settings.checked()
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "manifest.xml", out / "app-package.zip"]
    written[0].write_text(xml_manifest(settings), encoding="utf-8")
    written[1].write_bytes(app_package(settings))
    for size in OFFICE_SIZES:
        path = out / "icons" / f"icon-{size}.png"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(icon_png(size))
        written.append(path)
    return written
