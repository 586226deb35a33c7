"""The web tier installs and runs without the ML stack, and the container files run the documented commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

from addin_server.config import SETTINGS_GROUPS
from engine.declared_settings import declared_settings

ROOT = Path(__file__).resolve().parents[2]
ML_STACK = {"torch", "diffusers", "transformers", "safetensors", "accelerate", "tqdm", "openvino"}


def requirement_name(line: str) -> str:
    return re.split(r"[\[<>=~! ]", line.strip(), maxsplit=1)[0].lower()


def test_the_web_requirements_are_the_dependencies_without_the_ml_stack():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    web = [line for line in (ROOT / "requirements-web.txt").read_text().splitlines() if line and line[0] != "#"]
    assert web == [dep for dep in dependencies if requirement_name(dep) not in ML_STACK]
    assert not {requirement_name(line) for line in web} & ML_STACK


def test_the_web_tier_serves_with_the_ml_stack_missing(tmp_path, queue_url, shared_dir):
    """In a process where importing torch, diffusers or transformers fails, the scaled-out server still builds
    and answers; it is not ready until a worker registers."""
    script = f"""
import sys
for name in {sorted(ML_STACK)!r}:
    sys.modules[name] = None  # `import torch` now raises ImportError
from addin_server.app import create_app
from addin_server.config import Config
config = Config.from_env({{
    "ENGINE_QUEUE_URL": {queue_url!r}, "ENGINE_SHARED_DIR": {str(shared_dir)!r},
    "SERVER_INSTANCE_PATH": {str(tmp_path / "instance")!r},
}})
client = create_app(config).test_client()
print(client.get("/healthz").status_code, client.get("/readyz").status_code)
print(client.post("/api/jobs", json={{"prompt": "x"}}).get_json()["error"]["code"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "503", "no_worker"]


def test_the_dockerfile_installs_the_package_and_runs_the_cli():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY . /src" in dockerfile
    assert 'pip install --no-cache-dir --extra-index-url "${TORCH_INDEX}" "torch==2.13.0" .' in dockerfile
    assert "pip install --no-cache-dir -r requirements-web.txt && pip install --no-cache-dir --no-deps ." in dockerfile
    assert 'ENTRYPOINT ["addin-server"]' in dockerfile and 'CMD ["serve"]' in dockerfile
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements-web.txt && pip install --no-deps ." in readme
    assert "docker compose up" in readme and "--build-arg TORCH_INDEX=" in readme
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignored and "instance/" in ignored  # a clean tree goes in, not local data


def test_the_compose_file_runs_redis_the_web_tier_and_a_worker():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "web", "worker"}
    assert services["web"]["command"] == ["serve"] and services["worker"]["command"] == ["worker"]
    assert services["web"]["build"]["args"]["TIER"] == "web"
    declared = {
        item.info.variable
        for classes in SETTINGS_GROUPS.values()
        for cls in classes
        for item in (setting for c in [cls] for setting in declared_settings(c))
    }
    for name in ("web", "worker"):
        environment = services[name]["environment"]
        assert environment["ENGINE_QUEUE_URL"].startswith("redis://:${REDIS_PASSWORD}@127.0.0.1:6379")
        assert set(environment) <= declared, set(environment) - declared
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")  # AUTH, always
    web_volumes = {volume.split(":")[0] for volume in services["web"]["volumes"]}
    assert "shared-images" in web_volumes and "shared-images:/data/shared-images" in services["worker"]["volumes"]


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="Docker Compose is not installed here",
)
def test_docker_compose_accepts_the_file():
    done = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
