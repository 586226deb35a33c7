"""The pane's and the dialog's scripts type-check against Office's and Teams' own typings (tsc, pinned in
package.json and installed by `npm ci`), a real misuse of Office.js fails that check, and the vendored Fluent UI
files are exactly the pinned packages'."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / "node_modules" / ".bin" / "tsc"
VENDOR = ROOT / "addin_server" / "taskpane" / "static" / "vendor"


@pytest.fixture(scope="module")
def tsc() -> Path:
    if not TSC.exists():
        pytest.fail("TypeScript is not installed: scripts/test.sh runs `npm ci`")
    return TSC


def type_check(tsc: Path, project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(tsc), "--noEmit", "-p", str(project)], capture_output=True, text=True, timeout=300)


def test_the_scripts_type_check_with_zero_errors(tsc):
    result = type_check(tsc, ROOT / "tsconfig.json")
    assert result.returncode == 0 and "error TS" not in result.stdout, result.stdout
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for name in ("@types/office-js", "@microsoft/teams-js", "typescript"):
        assert lock[f"node_modules/{name}"]["version"] == pinned[name]  # the lock holds what package.json pins
    checked = [path for path in (ROOT / "addin_server").rglob("static/*.js")]
    assert checked and all(path.read_text().startswith("// @ts-check") for path in checked)


def test_leaving_out_a_required_office_option_fails_the_check(tsc, tmp_path):
    """The bug the check was brought in for: a slide background set without its required transparency."""
    copy = tmp_path / "project"
    skip = shutil.ignore_patterns("vendor", "__pycache__")
    shutil.copytree(ROOT / "addin_server", copy / "addin_server", ignore=skip)
    shutil.copytree(VENDOR, copy / "addin_server" / "taskpane" / "static" / "vendor")
    (copy / "node_modules").symlink_to(ROOT / "node_modules")
    shutil.copy(ROOT / "tsconfig.json", copy / "tsconfig.json")
    host = copy / "addin_server" / "taskpane" / "static" / "office_host.js"
    source = host.read_text()
    assert "imageBase64: base64, transparency: 0 }" in source
    host.write_text(source.replace("imageBase64: base64, transparency: 0 }", "imageBase64: base64 }"))
    result = type_check(tsc, copy / "tsconfig.json")
    assert result.returncode != 0 and "office_host.js" in result.stdout and "transparency" in result.stdout


def test_the_vendored_fluent_files_are_the_pinned_packages(tmp_path):
    node = shutil.which("node")
    assert node, "Node.js is not installed (scripts/test.sh installs it)"
    command = [node, "scripts/vendor_fluent.mjs", str(tmp_path)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=60)
    for name in ("fluent-web-components.min.js", "fluent-themes.js", "fluent.LICENSE", "fluent-web-components.VERSION"):
        assert (tmp_path / name).read_bytes() == (VENDOR / name).read_bytes(), f"{name} differs: vendor it again"
