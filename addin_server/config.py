"""Every setting of the server and its engine, read from the environment in this one place.

Each setting has a safe default and one line saying what it does; a bad value stops start-up with the
variable's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.api import MAX_IMAGES_PER_REQUEST, MAX_STEPS
from engine.settings import EngineSettings, LoadOptions


class ConfigError(ValueError):
    """A setting in the environment cannot be used; the message names the variable."""


def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    return int(_bounded(env, name, default, minimum, int, "a whole number"))


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    return float(_bounded(env, name, default, minimum, float, "a number"))


def _bounded(env: Mapping[str, str], name: str, default: float, minimum: float, cast: type, what: str) -> float:
    """`cast(env[name])`, or `default` when unset; a value that does not parse or is below `minimum` fails."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {value:g}")
    return value


def _bounded_integer(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    value = _integer(env, name, default, minimum)
    if value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def engine_settings_from_env(env: Mapping[str, str]) -> EngineSettings:
    """The engine's settings from ENGINE_* variables."""
    return EngineSettings(
        # Models to serve, "name=source,..."; a source is a diffusers folder, a cached repo id or FILE#config=DIR.
        models=_text(env, "ENGINE_MODELS"),
        # The default model (a name from ENGINE_MODELS or a source); empty: the embedded model.
        default_model=_text(env, "ENGINE_MODEL"),
        # Most images in one pipeline call.
        max_batch=_integer(env, "ENGINE_MAX_BATCH", 8, minimum=1),
        # How long a batch waits for another compatible request after its newest one, in ms (5x at most in all).
        max_wait_ms=_number(env, "ENGINE_MAX_WAIT_MS", 20.0),
        # Most jobs waiting in the queue; past it requests get 429.
        max_queue=_integer(env, "ENGINE_MAX_QUEUE", 64, minimum=1),
        # Most unfinished jobs per user (0: no limit).
        max_jobs_per_owner=_integer(env, "ENGINE_MAX_JOBS_PER_USER", 4),
        # How long finished jobs stay in the engine's memory, in seconds.
        result_ttl_s=_number(env, "ENGINE_RESULT_TTL_S", 900.0, minimum=1.0),
        # Load the default model before serving.
        preload=_flag(env, "ENGINE_PRELOAD", True),
        load=LoadOptions(
            # cuda, cuda:1, mps or cpu; empty: automatic.
            device=_text(env, "ENGINE_DEVICE") or None,
            # float32, float16 or bfloat16; empty: automatic (bf16/fp16 on GPU, fp32 on CPU).
            dtype=_text(env, "ENGINE_DTYPE") or None,
            # GPU-only memory and speed options, ignored on CPU.
            vae_tiling=_flag(env, "ENGINE_VAE_TILING"),
            vae_slicing=_flag(env, "ENGINE_VAE_SLICING"),
            channels_last=_flag(env, "ENGINE_CHANNELS_LAST"),
            compile=_flag(env, "ENGINE_COMPILE"),
        ),
    )


@dataclass(frozen=True)
class ServerSettings:
    """The web server: where it listens, where it keeps data, and how much it accepts."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: Folder for the SQLite database and image files.
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    #: Largest request body accepted by the JSON APIs; bigger ones get 413.
    max_request_bytes: int = 1024 * 1024
    #: Images and job history older than this are deleted (0: keep forever).
    retention_days: float = 30.0
    #: Most images and denoising steps one HTTP request may ask for (to keep one user from holding the GPU).
    max_images_per_request: int = 10
    max_steps: int = 150
    #: Longest a synchronous (OpenAI-style) request waits for its images before it is cancelled.
    sync_timeout_s: float = 300.0
    #: Largest PowerPoint/Word upload or template; bigger ones get 413.
    max_document_bytes: int = 100 * 1024 * 1024
    #: Most documents one user may have in progress.
    max_documents_per_user: int = 2
    #: gunicorn: worker processes (each loads its own copy of the model) and threads per process.
    workers: int = 1
    threads: int = 32
    #: gunicorn: seconds a stopping server gives running work before it is killed.
    graceful_timeout_s: float = 60.0
    #: Signs the session cookie of the sign-in dialog; empty: a random key per process (set it with >1 worker).
    secret_key: str = ""
    #: PEM certificate and key for HTTPS (both, or neither).
    certfile: Path | None = None
    keyfile: Path | None = None


def server_settings_from_env(env: Mapping[str, str]) -> ServerSettings:
    """The server's settings from SERVER_* and IMAGES_* variables."""
    instance = _text(env, "SERVER_INSTANCE_PATH")
    certfile, keyfile = _text(env, "SERVER_CERTFILE"), _text(env, "SERVER_KEYFILE")
    if bool(certfile) != bool(keyfile):
        raise ConfigError("SERVER_CERTFILE and SERVER_KEYFILE must be set together")
    return ServerSettings(
        # Address to listen on; anything but loopback needs Entra ID sign-in.
        host=_text(env, "SERVER_HOST", "127.0.0.1"),
        port=_integer(env, "SERVER_PORT", 8000),
        # Data folder (SQLite database and PNG files); default ./instance.
        instance_path=Path(instance).expanduser() if instance else Path.cwd() / "instance",
        # Largest JSON request body in bytes.
        max_request_bytes=_integer(env, "SERVER_MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024),
        # Delete images and history after this many days (0: never).
        retention_days=_number(env, "IMAGES_RETENTION_DAYS", 30.0),
        # Most images (n) and denoising steps one request may ask for.
        max_images_per_request=_bounded_integer(env, "IMAGES_MAX_N", MAX_IMAGES_PER_REQUEST, 1, MAX_IMAGES_PER_REQUEST),
        max_steps=_bounded_integer(env, "IMAGES_MAX_STEPS", MAX_STEPS, 1, MAX_STEPS),
        # Seconds a synchronous generation may take before it is cancelled with 504.
        sync_timeout_s=_number(env, "SERVER_SYNC_TIMEOUT_S", 300.0, minimum=1.0),
        # Largest document upload in bytes, and documents in progress per user.
        max_document_bytes=_integer(env, "DOCUMENTS_MAX_UPLOAD_BYTES", 100 * 1024 * 1024, minimum=1024),
        max_documents_per_user=_integer(env, "DOCUMENTS_MAX_PER_USER", 2, minimum=1),
        # gunicorn worker processes (each holds a model) and request threads per process.
        workers=_integer(env, "SERVER_WORKERS", 1, minimum=1),
        threads=_integer(env, "SERVER_THREADS", 32, minimum=1),
        # Seconds a stopping server lets running work finish.
        graceful_timeout_s=_number(env, "SERVER_GRACEFUL_TIMEOUT_S", 60.0, minimum=1.0),
        # Session cookie key for the sign-in dialog (random per process when unset).
        secret_key=_text(env, "SERVER_SECRET_KEY"),
        # HTTPS certificate and key (PEM files).
        certfile=Path(certfile) if certfile else None,
        keyfile=Path(keyfile) if keyfile else None,
    )


MULTI_TENANT = ("organizations", "common")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def is_guid(value: object) -> bool:
    """Entra ID client and tenant ids, and Office add-in ids, are GUIDs."""
    return isinstance(value, str) and _GUID.match(value) is not None


@dataclass(frozen=True)
class IdentitySettings:
    """Entra ID sign-in; with no client id the server stays in local mode (loopback only, one user)."""

    client_id: str = ""
    tenant_id: str = ""
    allowed_tenants: tuple[str, ...] = ()
    app_id_uris: tuple[str, ...] = ()
    required_scope: str = "access_as_user"
    #: App roles that let an app-only token (no user) in; empty: app-only tokens are refused.
    allowed_roles: tuple[str, ...] = ()
    client_secret: str = ""
    authority: str = "https://login.microsoftonline.com"
    #: A PEM bundle to trust for the authority (a private CA or a TLS-inspecting proxy); empty: the system's.
    ca_file: str = ""
    #: Per-user limit on generation requests (Flask-Limiter syntax) and where counts live.
    rate_limit: str = "60/minute"
    rate_limit_storage: str = "memory://"
    #: What the audit log keeps of each prompt: "hash" (SHA-256), "full" or "none".
    audit_prompts: str = "hash"
    #: Microsoft Graph, for saving documents to the user's OneDrive (on-behalf-of).
    graph_url: str = "https://graph.microsoft.com"
    onedrive_folder: str = "Generated images"

    @property
    def enabled(self) -> bool:
        return bool(self.client_id)

    @property
    def multi_tenant(self) -> bool:
        return self.tenant_id.lower() in MULTI_TENANT

    @property
    def audiences(self) -> tuple[str, ...]:
        return (self.client_id, *self.app_id_uris)


def identity_settings_from_env(env: Mapping[str, str]) -> IdentitySettings:
    """Entra ID settings from ENTRA_* variables, plus the rate limit and audit settings."""
    settings = IdentitySettings(
        # The API's app registration (client id GUID); unset: local mode.
        client_id=_text(env, "ENTRA_CLIENT_ID"),
        # A tenant id, or "organizations" for a multi-tenant app.
        tenant_id=_text(env, "ENTRA_TENANT_ID"),
        # Tenants whose users may sign in (required when multi-tenant).
        allowed_tenants=_list(env, "ENTRA_ALLOWED_TENANTS"),
        # Accepted audiences besides the client id, e.g. api://host/<client-id> (comma-separated).
        app_id_uris=_list(env, "ENTRA_APP_ID_URI"),
        # The delegated scope every user token must carry.
        required_scope=_text(env, "ENTRA_REQUIRED_SCOPE", "access_as_user"),
        # App roles that admit app-only tokens (comma-separated); empty refuses them.
        allowed_roles=_list(env, "ENTRA_ALLOWED_ROLES"),
        # Secret for on-behalf-of calls to Microsoft Graph.
        client_secret=_text(env, "ENTRA_CLIENT_SECRET"),
        # Where the OpenID configuration and signing keys come from.
        authority=_text(env, "ENTRA_AUTHORITY", "https://login.microsoftonline.com").rstrip("/"),
        # Extra CA bundle to trust for the authority.
        ca_file=_text(env, "ENTRA_CA_FILE"),
        # Per-user generation rate limit, e.g. "60/minute"; storage "memory://" or "redis://host:6379".
        rate_limit=_text(env, "RATE_LIMIT", "60/minute"),
        rate_limit_storage=_text(env, "RATE_LIMIT_STORAGE_URI", "memory://"),
        # Audit log: "hash" (default), "full" or "none" for the prompt.
        audit_prompts=_text(env, "AUDIT_PROMPTS", "hash").lower(),
        # Microsoft Graph's base URL and the OneDrive folder documents are saved to.
        graph_url=_text(env, "GRAPH_URL", "https://graph.microsoft.com").rstrip("/"),
        onedrive_folder=_text(env, "ONEDRIVE_FOLDER", "Generated images").strip("/"),
    )
    if settings.audit_prompts not in ("hash", "full", "none"):
        raise ConfigError(f"AUDIT_PROMPTS must be hash, full or none, got {settings.audit_prompts!r}")
    if not settings.enabled:
        return settings
    if not settings.tenant_id:
        raise ConfigError("ENTRA_TENANT_ID is required with ENTRA_CLIENT_ID (a tenant id, or organizations)")
    if not is_guid(settings.client_id):
        raise ConfigError(f"ENTRA_CLIENT_ID must be a GUID, got {settings.client_id!r}")
    if settings.multi_tenant and not settings.allowed_tenants:
        raise ConfigError("ENTRA_ALLOWED_TENANTS is required when ENTRA_TENANT_ID is organizations (multi-tenant)")
    if not settings.multi_tenant and not is_guid(settings.tenant_id):
        raise ConfigError(f"ENTRA_TENANT_ID must be a GUID or organizations, got {settings.tenant_id!r}")
    if not settings.authority.startswith("https://"):
        raise ConfigError(f"ENTRA_AUTHORITY must be https://, got {settings.authority!r}")
    if not settings.allowed_tenants:
        settings = IdentitySettings(**{**settings.__dict__, "allowed_tenants": (settings.tenant_id,)})
    return settings


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Config:
    """The server's settings; `Config.from_env()` reads them, tests build one directly."""

    engine: EngineSettings = field(default_factory=EngineSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    identity: IdentitySettings = field(default_factory=IdentitySettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        return cls(engine=engine_settings_from_env(env), server=server_settings_from_env(env),
                   identity=identity_settings_from_env(env))
