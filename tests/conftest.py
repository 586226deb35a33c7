"""Shared fixtures: no network, and tiny random-weight pipelines saved to disk once per session."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from tests import tiny_pipelines


def _is_local(address: object) -> bool:
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


@pytest.fixture(scope="session")
def sd15_dir(tmp_path_factory) -> Path:
    return tiny_pipelines.build_sd15(tmp_path_factory.mktemp("sd15"))


@pytest.fixture(scope="session")
def sdxl_dir(tmp_path_factory) -> Path:
    return tiny_pipelines.build_sdxl(tmp_path_factory.mktemp("sdxl"))


@pytest.fixture(scope="session")
def sd3_dir(tmp_path_factory) -> Path:
    return tiny_pipelines.build_sd3(tmp_path_factory.mktemp("sd3"))
