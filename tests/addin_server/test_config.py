"""Settings come from the environment with defaults; a bad value names its variable."""

from __future__ import annotations

import pytest

from addin_server.config import Config, ConfigError


def test_defaults_serve_the_embedded_model_with_sane_limits():
    engine = Config.from_env({}).engine
    assert engine.models == "" and engine.default_model == ""
    assert (engine.max_batch, engine.max_queue, engine.max_jobs_per_owner) == (8, 64, 4)
    assert engine.load.device is None and not engine.load.compile


def test_values_are_read_and_cast():
    engine = Config.from_env({"ENGINE_MAX_BATCH": "4", "ENGINE_MAX_WAIT_MS": "12.5", "ENGINE_COMPILE": "yes",
                              "ENGINE_DEVICE": "cuda:1", "ENGINE_MODEL": "/models/sd"}).engine
    assert engine.max_batch == 4 and engine.max_wait_ms == 12.5 and engine.load.compile
    assert engine.load.device == "cuda:1" and engine.default_model == "/models/sd"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENGINE_MAX_BATCH", "many", "ENGINE_MAX_BATCH must be a whole number, got 'many'"),
        ("ENGINE_MAX_BATCH", "0", "ENGINE_MAX_BATCH must be at least 1, got 0"),
        ("ENGINE_MAX_WAIT_MS", "soon", "ENGINE_MAX_WAIT_MS must be a number, got 'soon'"),
        ("ENGINE_COMPILE", "maybe", "ENGINE_COMPILE must be true or false, got 'maybe'"),
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
