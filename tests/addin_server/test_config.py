"""Settings come from the environment with defaults; a bad value names its variable."""

from __future__ import annotations

import pytest

from addin_server.config import Config, ConfigError


def test_defaults_serve_the_embedded_model_with_sane_limits():
    engine = Config.from_env({}).engine
    assert engine.models == "" and engine.default_model == ""
    assert (engine.max_batch, engine.max_queue, engine.max_queued_images_per_owner) == (8, 256, 128)
    assert engine.load.device is None and engine.load.compile == "auto" and engine.load.threads == 0
    # Compiled kernels are kept beside the server's other files, so a restart does not compile again.
    assert engine.load.compile_cache_dir == (Config.from_env({}).server.instance_path.resolve() / "compile-cache")


def test_values_are_read_and_cast():
    engine = Config.from_env(
        {
            "ENGINE_MAX_BATCH": "4",
            "ENGINE_MAX_WAIT_MS": "12.5",
            "ENGINE_COMPILE": "on",
            "ENGINE_COMPILE_CACHE_DIR": "/var/cache/engine",
            "ENGINE_DEVICE": "cuda:1",
            "ENGINE_MODEL": "/models/sd",
        }
    ).engine
    assert engine.max_batch == 4 and engine.max_wait_ms == 12.5 and engine.load.compile == "on"
    assert str(engine.load.compile_cache_dir) == "/var/cache/engine"
    assert engine.load.device == "cuda:1" and engine.default_model == "/models/sd"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENGINE_MAX_BATCH", "many", "ENGINE_MAX_BATCH must be a whole number, got 'many'"),
        ("ENGINE_MAX_BATCH", "0", "ENGINE_MAX_BATCH must be at least 1, got 0"),
        ("ENGINE_MAX_WAIT_MS", "soon", "ENGINE_MAX_WAIT_MS must be a number, got 'soon'"),
        ("ENGINE_COMPILE", "maybe", "ENGINE_COMPILE must be auto, on or off, got 'maybe'"),
        ("ENGINE_THREADS", "-1", "ENGINE_THREADS must be at least 0, got -1"),
    ],
)
def test_a_bad_value_names_its_variable(variable, value, message):
    with pytest.raises(ConfigError) as raised:
        Config.from_env({variable: value})
    assert str(raised.value) == message


def test_the_cli_reports_a_bad_setting_with_exit_code_2(monkeypatch, capsys, tmp_path):
    from addin_server.cli import main

    monkeypatch.setenv("ENGINE_MAX_QUEUE", "-1")
    assert main(["generate", "x", "--out", str(tmp_path / "x.png")]) == 2
    assert "ENGINE_MAX_QUEUE must be at least 1, got -1" in capsys.readouterr().err


def test_the_readme_settings_tables_are_the_declarations():
    """README's tables are exactly what the declarations render, and list no variable that is not declared."""
    import re
    from pathlib import Path

    from addin_server.config import SETTINGS_GROUPS
    from engine.declared_settings import declared_settings, settings_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for title, classes in SETTINGS_GROUPS.items():
        assert settings_table(classes) in readme, f"README's {title} table differs from the declarations"
    declared = {
        item.info.variable for classes in SETTINGS_GROUPS.values() for cls in classes for item in declared_settings(cls)
    }
    listed = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.MULTILINE))
    assert listed == declared


def _another_value(item) -> str:
    """A valid value for a declared setting that differs from its default."""
    import typing
    from pathlib import Path

    kind = item.kind
    if typing.get_origin(kind) is not None and typing.get_origin(kind) is not tuple:
        kind = next(option for option in typing.get_args(kind) if option is not type(None))
    if kind is bool:
        return "false" if item.default else "true"
    if kind in (int, float):
        value = item.default + 1
        if item.info.maximum is not None and value > item.info.maximum:
            value = item.default - 1
        return str(value)
    if item.info.choices:
        return next(choice for choice in item.info.choices if choice != item.default)
    if kind is Path:
        return "/srv/elsewhere"
    return "a,b" if typing.get_origin(kind) is tuple else "something-else"


def test_every_declared_setting_is_read_from_its_variable():
    from dataclasses import asdict

    from addin_server.config import SETTINGS_GROUPS
    from engine.declared_settings import declared_settings, load_settings

    for classes in SETTINGS_GROUPS.values():
        for cls in classes:
            defaults = asdict(load_settings(cls, {}))
            for item in declared_settings(cls):
                changed = asdict(load_settings(cls, {item.info.variable: _another_value(item)}))
                assert changed != defaults, f"{item.info.variable} is declared but not read"


def test_the_settings_command_lists_every_variable(capsys):
    from addin_server.cli import main

    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    for variable in ("ENGINE_MAX_BATCH", "SERVER_PORT", "ENTRA_CLIENT_ID", "DOCUMENTS_MAX_PER_USER"):
        assert f"`{variable}`" in out


def test_importing_the_server_and_engine_changes_no_global_state():
    """No module sets environment variables or patches a library when it is imported."""
    import subprocess
    import sys

    check = (
        "import os, zipfile; before = dict(os.environ)\n"
        "import addin_server.app, addin_server.cli, addin_server.documents.fill, addin_server.documents.build\n"
        "import engine.local, engine.models\n"
        "import pptx.opc.serialized, docx.opc.phys_pkg\n"
        "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())\n"
        "assert pptx.opc.serialized.zipfile is zipfile and docx.opc.phys_pkg.ZipFile is zipfile.ZipFile\n"
    )
    env = {
        key: value
        for key, value in __import__("os").environ.items()
        if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_VERBOSITY")
    }
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


TEAMS_ENV = {
    "ENTRA_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "ENTRA_TENANT_ID": "aaaaaaaa-0000-0000-0000-000000000001",
    "SERVER_PUBLIC_URL": "https://images.contoso.test",
    "SERVER_SECRET_KEY": "a long random secret",
    "TEAMS_BOT_ID": "99999999-8888-7777-6666-555555555555",
}


def test_teams_is_off_until_a_bot_id_is_set_and_then_checked():
    assert not Config.from_env({}).teams.enabled
    assert Config.from_env(TEAMS_ENV).teams.enabled


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TEAMS_BOT_ID": "my-bot"}, "TEAMS_BOT_ID must be the bot's app id (a GUID)"),
        ({"ENTRA_CLIENT_ID": ""}, "TEAMS_BOT_ID needs Entra ID (ENTRA_CLIENT_ID)"),
        ({"SERVER_SECRET_KEY": ""}, "TEAMS_BOT_ID needs SERVER_SECRET_KEY"),
        ({"TEAMS_OPENID_METADATA_URL": "http://login.example"}, "TEAMS_OPENID_METADATA_URL must be https://"),
        ({"TEAMS_INVOKE_WAIT_S": "6"}, "TEAMS_INVOKE_WAIT_S must be at most 4.5"),
    ],
)
def test_teams_settings_that_cannot_work_are_refused_at_start(change, message):
    env = {**TEAMS_ENV, **change}
    if not env["ENTRA_CLIENT_ID"]:
        env = {name: value for name, value in env.items() if not name.startswith("ENTRA_")}
    with pytest.raises(ConfigError) as raised:
        Config.from_env(env)
    assert message in str(raised.value)


def test_a_queue_url_that_is_not_redis_is_refused():
    with pytest.raises(ConfigError, match="ENGINE_QUEUE_URL must be redis://"):
        Config.from_env({"ENGINE_QUEUE_URL": "amqp://rabbit:5672//"})
    assert Config.from_env({"ENGINE_QUEUE_URL": "redis://redis:6379/0"}).engine.queue.enabled


def test_the_worker_command_needs_a_queue(capsys, monkeypatch):
    from addin_server.cli import main

    monkeypatch.delenv("ENGINE_QUEUE_URL", raising=False)
    assert main(["worker"]) == 2
    assert "set ENGINE_QUEUE_URL" in capsys.readouterr().err
