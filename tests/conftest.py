"""Shared fixtures: no network, and tiny random-weight pipelines saved to disk once per session."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from tests import tiny_pipelines

# Servers and engines the tests start would otherwise compile their models in the background on the same two
# cores the tests run on; tests/engine/test_speed.py turns it on where it is the subject.
os.environ.setdefault("ENGINE_COMPILE", "off")
# Likewise tracing a model for OpenVINO (8-15 s a load on 2 cores): tests marked `openvino` are about it.
os.environ.setdefault("ENGINE_OPENVINO", "off")


@pytest.fixture(autouse=True)
def pytorch_unless_openvino_is_the_subject(request, monkeypatch):
    """Engines built in-process with `auto` levers run on PyTorch too, unless the test is marked `openvino`."""
    if "openvino" not in request.keywords:
        monkeypatch.setattr("engine.speed_plan.openvino_installed", lambda: False)


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # a UNIX socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Any attempt to open a connection beyond this machine fails the test that made it."""
    original_connect = socket.socket.connect

    def guarded_connect(self, address):
        if not _is_local(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return original_connect(self, address)

    socket.socket.connect = guarded_connect
    yield
    socket.socket.connect = original_connect


#: The tiny model's limits: 64x64 by default, 32-128, 2 steps, guidance on (so prompts matter).
TEST_MODEL_DEFAULTS = {
    "default_width": 64,
    "default_height": 64,
    "min_size": 32,
    "max_size": 128,
    "size_multiple": 8,
    "default_steps": 2,
    "default_guidance_scale": 5.0,
}


@pytest.fixture(scope="session")
def test_model_dir(sd15_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("server-model") / "tiny"
    shutil.copytree(sd15_dir, folder)
    (folder / "engine_defaults.json").write_text(json.dumps(TEST_MODEL_DEFAULTS))
    return folder


@pytest.fixture(scope="session")
def sd15_dir(tmp_path_factory) -> Path:
    return tiny_pipelines.build_sd15(tmp_path_factory.mktemp("sd15"))


@pytest.fixture(scope="session")
def sdxl_dir(tmp_path_factory) -> Path:
    return tiny_pipelines.build_sdxl(tmp_path_factory.mktemp("sdxl"))


@pytest.fixture(scope="session")
def sd3_dir(tmp_path_factory) -> Path:
    return tiny_pipelines.build_sd3(tmp_path_factory.mktemp("sd3"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis server on a free loopback port (scripts/test.sh installs redis-server)."""
    import shutil
    import subprocess
    import time

    from tests.addin_server.live_server import free_port

    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed (scripts/test.sh installs it with apt-get)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def provider(tmp_path_factory):
    """A local Entra-like OpenID provider over HTTPS (tests/identity_provider.py)."""
    from tests.identity_provider import LocalIdentityProvider

    provider = LocalIdentityProvider(tmp_path_factory.mktemp("identity")).start()
    yield provider
    provider.stop()


@pytest.fixture
def signed_in_server(test_model_dir, tmp_path, provider):
    """A real `addin-server serve` that signs people in with Entra ID at the local OpenID provider."""
    from tests.addin_server.live_server import LiveServer

    server = LiveServer(test_model_dir, tmp_path / "signed-in", env=provider.server_env()).start()
    yield server
    server.stop()
