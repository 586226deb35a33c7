"""The layer rules: the web side loads no torch, the engine loads no Flask."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(done.stdout.split())


def test_the_web_side_and_the_light_engine_api_load_no_torch():
    loaded = modules_loaded_by(
        "import addin_server.cli, addin_server.config, addin_server.app, addin_server.serve, engine.api, engine.errors,"
        " engine.model_sources, engine.model_defaults, engine.settings, engine.admission"
    )
    assert "torch" not in loaded and "diffusers" not in loaded


def test_no_engine_module_imports_flask():
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        assert "import flask" not in text.lower() and "from flask" not in text.lower(), path


def test_no_addin_server_module_imports_torch_at_the_top():
    for path in (ROOT / "addin_server").rglob("*.py"):
        for line in path.read_text().splitlines():
            assert not line.startswith(("import torch", "from torch", "import diffusers", "from diffusers")), path


def test_document_code_imports_no_flask():
    for path in (ROOT / "addin_server" / "documents").rglob("*.py"):
        text = path.read_text().lower()
        assert "import flask" not in text and "from flask" not in text, path
