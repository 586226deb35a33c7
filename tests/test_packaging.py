"""The wheel carries every file the server serves: it is built, installed into a fresh virtual environment
outside the source tree, and run from another folder, as a container or an index install would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pptx
import pytest
import requests

from tests.addin_server.live_server import free_port

SOURCE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtual environment with the wheel installed (torch and the rest come from this interpreter's site)."""
    work = tmp_path_factory.mktemp("packaging")
    dist = work / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(SOURCE),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    return work / "venv"


def run_cli(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ENGINE_MODEL": ""}
    return subprocess.run(
        [str(venv / "bin" / "addin-server"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_wheel_holds_the_pages_templates_manifest_and_scripts_but_not_the_trainer(venv):
    [wheel] = (venv.parent / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "addin_server/templates/taskpane/taskpane.html",
        "addin_server/templates/auth/dialog_result.html",
        "addin_server/templates/documents/deck.pptx",
        "addin_server/templates/documents/report.docx",
        "addin_server/manifest_templates/manifest.xml.j2",
        "addin_server/taskpane/static/taskpane.js",
        "addin_server/taskpane/static/vendor/msal-browser.min.js",
        "addin_server/templates/teams/dialog.html",
        "addin_server/templates/request_form.html",
        "addin_server/copilot/package.py",
        "addin_server/teams/static/dialog.js",
        "addin_server/teams/static/vendor/MicrosoftTeams.min.js",
        "engine/embedded/unet/diffusion_pytorch_model.safetensors",
    ):
        assert expected in names
    assert not [name for name in names if name.startswith(("training/", "tests/"))]
    source = Path(__file__).resolve().parents[1]
    for package in (source / "addin_server").rglob("__init__.py"):  # a new subpackage must be listed in pyproject
        assert package.relative_to(source).as_posix() in names, package


def test_the_installed_package_is_the_one_that_runs(venv, tmp_path):
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import addin_server, engine; print(addin_server.__file__, engine.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(venv) for path in where), where


@pytest.fixture(scope="module")
def installed_server(venv, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`addin-server serve` from the virtual environment, started in a folder far from the source tree."""
    folder = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    log = folder / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ENGINE_MODEL": ""}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(venv / "bin" / "addin-server"), "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise AssertionError(f"not ready:\n{log.read_text()}")
        yield url, log
    finally:
        process.terminate()
        process.wait(60)


def _module_imports(source: str) -> list[str]:
    return re.findall(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["']""", source, re.MULTILINE)


def test_the_task_pane_and_every_script_it_loads_answer_from_the_installed_server(installed_server):
    url, _ = installed_server
    page = requests.get(url + "/taskpane", timeout=10)
    assert page.status_code == 200
    same_origin = [src for src in re.findall(r'(?:src|href)="([^"]+)"', page.text) if src.startswith("/")]
    assert any(src.endswith("taskpane.js") for src in same_origin)
    pending, fetched = [urljoin(url, src) for src in same_origin], set()
    while pending:  # the ES modules, followed through their imports
        address = pending.pop()
        if address in fetched:
            continue
        fetched.add(address)
        response = requests.get(address, timeout=10)
        assert response.status_code == 200, address
        if address.endswith(".js"):
            pending += [urljoin(address, name) for name in _module_imports(response.text)]
    assert len([address for address in fetched if address.endswith(".js")]) >= 8
    assert requests.get(url + "/icons/icon-32.png", timeout=10).headers["Content-Type"] == "image/png"


def test_start_up_prints_no_warnings(installed_server):
    _, log = installed_server
    lines = log.read_text(errors="replace").splitlines()
    assert [line for line in lines if re.search(r"warn|deprecat|accelerate", line, re.IGNORECASE)] == []


def test_documents_and_manifests_from_the_installed_package(venv, tmp_path):
    (tmp_path / "deck.yaml").write_text("title: Shapes\nslides:\n  - title: A star\n    image: a yellow star\n")
    built = run_cli(venv, "document", "deck.yaml", "-o", "deck.pptx", "--seed", "7", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    deck = pptx.Presentation(str(tmp_path / "deck.pptx"))
    assert deck.slide_width / deck.slide_height == pytest.approx(16 / 9, rel=0.01)  # the default 16:9 template
    assert sum(shape.shape_type == 13 for slide in deck.slides for shape in slide.shapes) == 1  # 13: picture
    written = run_cli(venv, "manifest", "--base-url", "https://addin.example", "--out", "manifests", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert "https://addin.example/taskpane" in (tmp_path / "manifests" / "manifest.xml").read_text()
    assert "manifest.json" in zipfile.ZipFile(tmp_path / "manifests" / "app-package.zip").namelist()
