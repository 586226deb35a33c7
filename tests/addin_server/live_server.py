"""A real `addin-server serve` (gunicorn) in a subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """Starts the server with `env` on top of this process's environment; `stop()` sends SIGTERM.

    `model_dir` None serves the embedded default model.
    """

    def __init__(
        self,
        model_dir: Path | None,
        instance: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        ca_file: Path | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.instance = instance
        self.env = env or {}
        self.args = args
        self.ca_file = ca_file
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = instance.parent / f"{instance.name}-server.log"

    @property
    def url(self) -> str:
        scheme = "https" if "SERVER_CERTFILE" in self.env or "--https" in self.args else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> str | bool:
        """What `requests` needs to trust this server: its own certificate when it serves HTTPS."""
        return str(self.ca_file) if self.ca_file else self.env.get("SERVER_CERTFILE", True)

    def start(self, timeout: float = 90.0) -> LiveServer:
        self.port = free_port()
        env = {**os.environ, "ENGINE_MODEL": str(self.model_dir or ""), "HF_HUB_OFFLINE": "1", **self.env}
        if "ENTRA_CLIENT_ID" in env:  # signed-in servers build their links on their public address
            env.setdefault("SERVER_PUBLIC_URL", self.url)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "addin_server.cli",
                "serve",
                "--port",
                str(self.port),
                "--instance",
                str(self.instance),
                *self.args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/readyz", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except requests.RequestException:  # bound, but the worker is still loading the model
                pass
            time.sleep(0.2)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"the server was not ready within {timeout} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def post(self, path: str, body: object, **kwargs) -> requests.Response:
        return requests.post(
            self.url + path, json=body, timeout=kwargs.pop("timeout", 120), verify=self.verify, **kwargs
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=kwargs.pop("timeout", 60), verify=self.verify, **kwargs)
