"""Every setting of the server and its engine, each declared once (variable, type, default, meaning) and read
from the environment by one loader; `Config.validate()` holds every start-up check that spans settings.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import limits

from engine.api import MAX_IMAGES_PER_REQUEST, MAX_STEPS
from engine.declared_settings import load_settings, setting, settings_table
from engine.errors import ConfigError
from engine.settings import EngineSettings, LoadOptions

__all__ = [
    "Config",
    "ConfigError",
    "CopilotSettings",
    "EngineSettings",
    "IdentitySettings",
    "LoadOptions",
    "ServerSettings",
    "TeamsSettings",
]

MULTI_TENANT = ("organizations", "common")
#: Generations a signed-in user may start a minute, unless RATE_LIMIT says otherwise.
SIGNED_IN_RATE_LIMIT = "60/minute"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def is_guid(value: object) -> bool:
    """Entra ID client and tenant ids, and Office add-in ids, are GUIDs."""
    return isinstance(value, str) and _GUID.match(value) is not None


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: the only addresses local mode may listen on."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _without_trailing_slash(url: str) -> str:
    return url.rstrip("/")


@dataclass(frozen=True)
class ServerSettings:
    """The web server: where it listens, where it keeps data, and how much it accepts."""

    host: str = setting("SERVER_HOST", "127.0.0.1", "address to listen on (loopback only in local mode)")
    port: int = setting("SERVER_PORT", 8000, "port to listen on", minimum=0, maximum=65535)
    instance_path: Path = setting(
        "SERVER_INSTANCE_PATH", Path("instance"), "SQLite database and PNG files", shown_default="`./instance`"
    )
    public_url: str = setting(
        "SERVER_PUBLIC_URL",
        "",
        "the server's address as people and Office reach it, e.g. `https://images.contoso.com`: every absolute "
        "link is built on it (required with Entra ID; local mode uses its own loopback address)",
        clean=_without_trailing_slash,
    )
    certfile: Path | None = setting("SERVER_CERTFILE", None, "PEM certificate for HTTPS (with `SERVER_KEYFILE`)")
    keyfile: Path | None = setting("SERVER_KEYFILE", None, "PEM private key for HTTPS (with `SERVER_CERTFILE`)")
    threads: int = setting("SERVER_THREADS", 32, "gunicorn request threads per process", minimum=1)
    workers: int = setting(
        "SERVER_WORKERS",
        1,
        "gunicorn processes (each loads its own model, unless `ENGINE_QUEUE_URL` sends jobs to workers)",
        minimum=1,
    )
    graceful_timeout_s: float = setting(
        "SERVER_GRACEFUL_TIMEOUT_S", 60.0, "how long a stopping server lets running work finish", minimum=1
    )
    sync_timeout_s: float = setting(
        "SERVER_SYNC_TIMEOUT_S", 300.0, "longest a synchronous request waits (then 504, job cancelled)", minimum=1
    )
    max_request_bytes: int = setting(
        "SERVER_MAX_REQUEST_BYTES", 1024 * 1024, "larger JSON bodies get 413", minimum=1024
    )
    max_streams_per_user: int = setting(
        "SERVER_MAX_STREAMS_PER_USER", 4, "progress streams (Server-Sent Events) one user may have open", minimum=1
    )
    max_waits_per_user: int = setting(
        "SERVER_MAX_WAITS_PER_USER",
        8,
        "requests one user may have waiting for their pictures at once (synchronous OpenAI calls, Copilot, Teams), "
        "a batch's worth; more get 429 before any work starts, so one user never holds every request thread",
        minimum=1,
    )
    stream_max_s: float = setting(
        "SERVER_STREAM_MAX_S",
        300.0,
        "longest a progress stream stays open; the task pane then opens another",
        minimum=1,
    )
    secret_key: str = setting(
        "SERVER_SECRET_KEY",
        "",
        "signs the sign-in dialog's session cookie (set it when running several workers)",
        shown_default="random per process",
    )
    retention_days: float = setting(
        "IMAGES_RETENTION_DAYS", 30.0, "jobs, images and documents older than this are deleted (0: never)", minimum=0
    )
    max_images_per_request: int = setting(
        "IMAGES_MAX_N",
        MAX_IMAGES_PER_REQUEST,
        "most images one request may ask for",
        minimum=1,
        maximum=MAX_IMAGES_PER_REQUEST,
    )
    max_steps: int = setting(
        "IMAGES_MAX_STEPS", MAX_STEPS, "most denoising steps one request may ask for", minimum=1, maximum=MAX_STEPS
    )
    max_cost: int = setting(
        "IMAGES_MAX_COST",
        10 * 50 * 1024 * 1024,
        "most work one request may ask for, as images × steps × pixels (ten 1024×1024 images at 50 steps)",
        minimum=1,
    )
    metrics_networks: tuple[str, ...] = setting(
        "METRICS_ALLOWED_NETWORKS",
        (),
        "addresses that may read `/metrics`, e.g. `10.0.0.0/8,127.0.0.1/32` (none: any, unless METRICS_TOKEN)",
    )
    metrics_token: str = setting(
        "METRICS_TOKEN", "", "a bearer token that reads `/metrics` from anywhere (none: no token is asked for)"
    )
    max_upload_bytes: int = setting(
        "IMAGES_MAX_UPLOAD_BYTES",
        20 * 1024 * 1024,
        "largest picture (and mask) a request may upload to be changed; larger get 413",
        minimum=1024,
    )
    max_upload_pixels: int = setting(
        "IMAGES_MAX_UPLOAD_PIXELS",
        4096 * 4096,
        "most pixels an uploaded picture may have (a decompression bomb is refused before it is decoded)",
        minimum=64 * 64,
    )
    max_document_bytes: int = setting(
        "DOCUMENTS_MAX_UPLOAD_BYTES",
        100 * 1024 * 1024,
        "largest .pptx/.docx upload or template; larger ones get 413",
        minimum=1024,
    )
    max_document_images: int = setting(
        "DOCUMENTS_MAX_IMAGES", 100, "most images one document may ask for (more: 400)", minimum=1
    )
    max_documents_per_user: int = setting(
        "DOCUMENTS_MAX_PER_USER", 2, "documents in progress per user (more: 429)", minimum=1
    )
    public_link_ttl_s: float = setting(
        "PUBLIC_LINK_TTL_S",
        30 * 86400.0,
        "how long a picture's public link (in a Teams or Copilot card, fetched without a token) works; a link "
        "never outlives its image",
        minimum=60,
    )


@dataclass(frozen=True)
class IdentitySettings:
    """Entra ID sign-in; with no client id the server stays in local mode (loopback only, one user)."""

    client_id: str = setting("ENTRA_CLIENT_ID", "", "the API's app registration (client id); unset: local mode")
    tenant_id: str = setting("ENTRA_TENANT_ID", "", "your tenant id, or `organizations` for a multi-tenant app")
    allowed_tenants: tuple[str, ...] = setting(
        "ENTRA_ALLOWED_TENANTS",
        (),
        "tenant ids allowed in, comma-separated (required with `organizations`)",
        shown_default="`ENTRA_TENANT_ID`",
    )
    app_id_uris: tuple[str, ...] = setting(
        "ENTRA_APP_ID_URI",
        (),
        "accepted audiences besides the client id, e.g. `api://host/<client-id>` (comma-separated)",
    )
    required_scope: str = setting(
        "ENTRA_REQUIRED_SCOPE", "access_as_user", "the delegated scope every user token needs"
    )
    allowed_roles: tuple[str, ...] = setting(
        "ENTRA_ALLOWED_ROLES", (), "app roles that admit app-only tokens (none: app-only tokens are refused)"
    )
    client_secret: str = setting(
        "ENTRA_CLIENT_SECRET",
        "",
        "for on-behalf-of calls to Microsoft Graph (saving to OneDrive) and the sign-in dialog",
    )
    authority: str = setting(
        "ENTRA_AUTHORITY",
        "https://login.microsoftonline.com",
        "where the OpenID configuration and signing keys come from",
        clean=_without_trailing_slash,
    )
    ca_file: str = setting(
        "ENTRA_CA_FILE",
        "",
        "extra CA bundle to trust for the authority (a private CA or an inspecting proxy)",
        shown_default="the system's",
    )
    rate_limit: str = setting(
        "RATE_LIMIT",
        "",
        "per-user limit on generations, one budget for every route and surface (Flask-Limiter syntax; `none`: off)",
        shown_default=f"`{SIGNED_IN_RATE_LIMIT}` with Entra ID, none in local mode",
    )
    auth_rate_limit: str = setting(
        "AUTH_RATE_LIMIT", "20/minute", "per-address limit on the sign-in dialog's pages (`/auth/*`)"
    )
    rate_limit_storage: str = setting(
        "RATE_LIMIT_STORAGE_URI",
        "memory://",
        "where rate-limit counts live; `redis://...` to share them between processes",
    )
    audit_prompts: str = setting(
        "AUDIT_PROMPTS",
        "hash",
        "what the audit log keeps of prompts: `hash`, `full` or `none`",
        choices=("hash", "full", "none"),
    )
    graph_url: str = setting(
        "GRAPH_URL",
        "https://graph.microsoft.com",
        "Microsoft Graph, for saving documents to OneDrive",
        clean=_without_trailing_slash,
    )
    onedrive_folder: str = setting(
        "ONEDRIVE_FOLDER",
        "Generated images",
        "the OneDrive folder documents are saved to",
        clean=lambda text: text.strip("/"),
    )

    def __post_init__(self) -> None:
        # A single-tenant app admits its own tenant unless told otherwise.
        if self.enabled and not self.allowed_tenants and self.tenant_id and not self.multi_tenant:
            object.__setattr__(self, "allowed_tenants", (self.tenant_id,))

    @property
    def enabled(self) -> bool:
        return bool(self.client_id)

    @property
    def generation_rate_limit(self) -> str:
        """RATE_LIMIT as it applies ("" for none): one person on loopback gets no limit unless they set one."""
        value = self.rate_limit.strip()
        if value.lower() in ("none", "off"):
            return ""
        return value or (SIGNED_IN_RATE_LIMIT if self.enabled else "")

    @property
    def multi_tenant(self) -> bool:
        return self.tenant_id.lower() in MULTI_TENANT

    @property
    def audiences(self) -> tuple[str, ...]:
        return (self.client_id, *self.app_id_uris)


@dataclass(frozen=True)
class TeamsSettings:
    """The Teams message extension, a Bot Framework bot on `POST /api/messages`; off until TEAMS_BOT_ID is set."""

    bot_id: str = setting("TEAMS_BOT_ID", "", "the bot's Microsoft app id (a GUID); unset: Teams is off")
    bot_secret: str = setting(
        "TEAMS_BOT_SECRET",
        "",
        "the bot's client secret: lets it answer a plain chat message with its help card (unset: no reply)",
    )
    openid_metadata_url: str = setting(
        "TEAMS_OPENID_METADATA_URL",
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        "where the Bot Framework publishes the keys that sign Teams' requests (`ENTRA_CA_FILE` applies)",
    )
    invoke_wait_s: float = setting(
        "TEAMS_INVOKE_WAIT_S",
        4.0,
        "how long a prompt-only submit waits for its picture before answering with a progress dialog "
        "(Teams gives an invoke 5 s)",
        minimum=0,
        maximum=4.5,
    )

    @property
    def enabled(self) -> bool:
        return bool(self.bot_id)


@dataclass(frozen=True)
class CopilotSettings:
    """The Microsoft 365 Copilot plugin (`/api/copilot/*`): how long a call waits, and its package's sign-in."""

    sync_timeout_s: float = setting(
        "COPILOT_SYNC_TIMEOUT_S",
        15.0,
        "how long a Copilot call waits for its pictures before answering with a job id to ask again "
        "(Copilot gives a plugin call about 20 s)",
        minimum=0,
        maximum=25,
    )
    auth_reference_id: str = setting(
        "COPILOT_AUTH_REFERENCE_ID",
        "",
        "the Entra SSO registration id from the Teams Developer Portal; `addin-server manifest` then adds the "
        "Copilot agent (or `--copilot-auth-reference`)",
    )


#: The settings dataclasses, in the order `addin-server settings` and the README list them.
SETTINGS_GROUPS = {
    "Engine settings": (EngineSettings,),
    "Server settings": (ServerSettings,),
    "Entra ID settings": (IdentitySettings,),
    "Teams settings": (TeamsSettings,),
    "Copilot settings": (CopilotSettings,),
}


@dataclass(frozen=True)
class Config:
    """The server's settings; `Config.from_env()` reads and checks them, tests build one directly."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    teams: TeamsSettings = field(default_factory=TeamsSettings)
    copilot: CopilotSettings = field(default_factory=CopilotSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read every setting from `env` (default: the process's environment), then `validate()`."""
        env = os.environ if env is None else env
        server = load_settings(ServerSettings, env)
        config = cls(
            engine=load_settings(EngineSettings, env).with_compile_cache_in(server.instance_path),
            server=server,
            identity=load_settings(IdentitySettings, env),
            teams=load_settings(TeamsSettings, env),
            copilot=load_settings(CopilotSettings, env),
        )
        return config.validate()

    def validate(self) -> Config:
        """Every start-up check that spans settings; raises `ConfigError` naming the variable. Returns self."""
        server, identity = self.server, self.identity
        if (server.certfile is None) != (server.keyfile is None):
            raise ConfigError("SERVER_CERTFILE and SERVER_KEYFILE must be set together")
        for name, path in (("certificate", server.certfile), ("key", server.keyfile)):
            if path is not None and not path.is_file():
                raise ConfigError(f"the HTTPS {name} file {path} does not exist")
        if not is_loopback_host(server.host) and not identity.enabled:
            raise ConfigError(
                f"refusing to listen on {server.host}: without Entra ID sign-in configured (ENTRA_CLIENT_ID) the "
                "server runs in local mode and may only listen on loopback (127.0.0.1, ::1 or localhost)"
            )
        for network in server.metrics_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"METRICS_ALLOWED_NETWORKS: {network!r} is not an address or network") from None
        for variable, value in (
            ("RATE_LIMIT", identity.generation_rate_limit),
            ("AUTH_RATE_LIMIT", identity.auth_rate_limit),
        ):
            try:
                if value:
                    limits.parse(value)
            except ValueError:
                raise ConfigError(f"{variable}: {value!r} is not a limit such as 60/minute") from None
        queue_url = self.engine.queue.url
        if queue_url and not queue_url.startswith(("redis://", "rediss://")):
            raise ConfigError(
                f"ENGINE_QUEUE_URL must be redis://[:PASSWORD@]HOST:PORT/DB (or rediss:// for TLS), got {queue_url!r}"
            )
        if server.public_url and not server.public_url.startswith(("https://", "http://")):
            raise ConfigError(f"SERVER_PUBLIC_URL must start with https://, got {server.public_url!r}")
        if identity.enabled:
            _validate_identity(identity)
            if not server.public_url:
                raise ConfigError(
                    "SERVER_PUBLIC_URL is required with ENTRA_CLIENT_ID: image links and the sign-in redirect are "
                    "built on it, never on the Host header a client sends"
                )
        if self.teams.enabled:
            _validate_teams(self)
        return self


def _validate_identity(identity: IdentitySettings) -> None:
    if not identity.tenant_id:
        raise ConfigError("ENTRA_TENANT_ID is required with ENTRA_CLIENT_ID (a tenant id, or organizations)")
    if not is_guid(identity.client_id):
        raise ConfigError(f"ENTRA_CLIENT_ID must be a GUID, got {identity.client_id!r}")
    if identity.multi_tenant and not identity.allowed_tenants:
        raise ConfigError("ENTRA_ALLOWED_TENANTS is required when ENTRA_TENANT_ID is organizations (multi-tenant)")
    if not identity.multi_tenant and not is_guid(identity.tenant_id):
        raise ConfigError(f"ENTRA_TENANT_ID must be a GUID or organizations, got {identity.tenant_id!r}")
    if not identity.authority.startswith("https://"):
        raise ConfigError(f"ENTRA_AUTHORITY must be https://, got {identity.authority!r}")


def _validate_teams(config: Config) -> None:
    teams = config.teams
    if not is_guid(teams.bot_id):
        raise ConfigError(f"TEAMS_BOT_ID must be the bot's app id (a GUID), got {teams.bot_id!r}")
    if not config.identity.enabled:
        raise ConfigError(
            "TEAMS_BOT_ID needs Entra ID (ENTRA_CLIENT_ID): Teams users are the same tid:oid users as in the task "
            "pane, and the dialog signs them in with Teams SSO"
        )
    if not config.server.secret_key:
        raise ConfigError(
            "TEAMS_BOT_ID needs SERVER_SECRET_KEY: it signs the picture links in posted cards, which must keep "
            "working after a restart and in every server process"
        )
    if not teams.openid_metadata_url.startswith("https://"):
        raise ConfigError(f"TEAMS_OPENID_METADATA_URL must be https://, got {teams.openid_metadata_url!r}")


def settings_tables() -> str:
    """Every setting as Markdown tables under their headings: `addin-server settings` prints this."""
    return "\n\n".join(f"### {title}\n\n{settings_table(classes)}" for title, classes in SETTINGS_GROUPS.items())
