"""`addin-server manifest`: the XML manifest and the app package validate against the offline schemas, and the
icons are real PNGs at every size they are named at."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from PIL import Image

from addin_server.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def xml_schema():
    return xmlschema.XMLSchema(str(SCHEMAS / "office-addin-xml" / "OfficeAppManifestV1_1.xsd"), validation="lax")


@pytest.fixture(scope="module")
def app_schema():
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / "teams-v1.30.json").read_text()))


def generate(tmp_path, *extra) -> Path:
    out = tmp_path / "manifests"
    assert main(["manifest", "--base-url", "https://addin.contoso.test:8443", "--out", str(out), *extra]) == 0
    return out


@pytest.mark.parametrize("extra", [(), ("--client-id", CLIENT_ID)])
def test_the_xml_manifest_validates(tmp_path, xml_schema, extra):
    out = generate(tmp_path, *extra)
    assert list(xml_schema.iter_errors(str(out / "manifest.xml"))) == []
    text = (out / "manifest.xml").read_text()
    assert '<Host Name="Document"/>' in text and '<Host Name="Presentation"/>' in text
    assert "<AppDomain>https://addin.contoso.test:8443</AppDomain>" in text and 'id="TabHome"' in text
    assert ("<WebApplicationInfo>" in text) == bool(extra)
    if extra:
        assert f"<Resource>api://addin.contoso.test:8443/{CLIENT_ID}</Resource>" in text


def test_the_validator_catches_a_broken_manifest(tmp_path, xml_schema):
    out = generate(tmp_path)
    broken = (
        (out / "manifest.xml")
        .read_text()
        .replace("<ProviderName>", "<Provider>")
        .replace("</ProviderName>", "</Provider>")
    )
    assert list(xml_schema.iter_errors(broken))


def test_the_app_package_validates_and_hides_the_xml_duplicate(tmp_path, app_schema):
    out = generate(tmp_path, "--client-id", CLIENT_ID)
    with zipfile.ZipFile(out / "app-package.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color, outline = (Image.open(io.BytesIO(package.read(name))) for name in ("color.png", "outline.png"))
    assert [error.message for error in app_schema.iter_errors(manifest)] == []
    xml_id = (out / "manifest.xml").read_text().split("<Id>")[1].split("</Id>")[0]
    extension = manifest["extensions"][0]
    # The app package is a new app with its own id, hiding the XML add-in it replaces (Microsoft's rule).
    assert extension["alternates"][0]["hide"]["customOfficeAddin"]["officeAddinId"] == xml_id != manifest["id"]
    again = generate(tmp_path / "again", "--client-id", CLIENT_ID)
    with zipfile.ZipFile(again / "app-package.zip") as package:
        assert json.loads(package.read("manifest.json"))["id"] == manifest["id"]  # stable across runs
    # Icons for the XML manifest Microsoft 365 makes from this one for older Office versions.
    icons = extension["alternates"][1]["alternateIcons"]
    assert icons["icon"]["url"].endswith("/icons/icon-32.png") and icons["icon"]["size"] == 32
    assert icons["highResolutionIcon"]["url"].endswith("/icons/icon-64.png")
    assert manifest["manifestVersion"] == "1.30" and "/v1.30/" in manifest["$schema"]
    assert extension["requirements"]["scopes"] == ["document", "presentation"]
    assert manifest["webApplicationInfo"]["id"] == CLIENT_ID
    assert color.size == (192, 192) and outline.size == (32, 32) and outline.mode == "RGBA"
    visible = [pixel for pixel in outline.getdata() if pixel[3] > 0]
    assert visible and all(min(pixel[:3]) > 200 for pixel in visible if pixel[3] > 128)  # white on transparent
    broken = {**manifest, "manifestVersion": "1.17"}
    assert list(app_schema.iter_errors(broken))


def test_icons_at_every_size_and_a_stable_add_in_id(tmp_path, client):
    out = generate(tmp_path)
    for size in (16, 32, 64, 80):
        assert Image.open(out / "icons" / f"icon-{size}.png").size == (size, size)
        served = client.get(f"/icons/icon-{size}.png")
        assert served.status_code == 200 and served.data == (out / "icons" / f"icon-{size}.png").read_bytes()
    assert client.get("/icons/icon-17.png").status_code == 404
    first = (out / "manifest.xml").read_text()
    assert first == (generate(tmp_path / "again") / "manifest.xml").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--base-url", "http://localhost:8000"], "--base-url must be https://HOST[:PORT]"),
        (["--base-url", "https://host/path"], "--base-url must be https://HOST[:PORT]"),
        (["--base-url", "https://host", "--client-id", "my-app"], "--client-id must be a GUID"),
    ],
)
def test_bad_options(tmp_path, capsys, arguments, message):
    assert main(["manifest", *arguments, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


BOT_ID = "99999999-8888-7777-6666-555555555555"


def test_with_a_bot_id_the_package_carries_the_teams_bot_and_message_extension(tmp_path, app_schema):
    out = generate(tmp_path, "--client-id", CLIENT_ID, "--bot-id", BOT_ID)
    with zipfile.ZipFile(out / "app-package.zip") as package:
        manifest = json.loads(package.read("manifest.json"))
    assert [error.message for error in app_schema.iter_errors(manifest)] == []
    [bot] = manifest["bots"]
    assert bot["botId"] == BOT_ID and sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert "commandLists" not in bot  # no conversation beyond the help reply
    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == BOT_ID and extension["composeExtensionType"] == "botBased"
    commands = {command["id"]: command for command in extension["commands"]}
    assert commands["generate"]["type"] == "action" and commands["generate"]["fetchTask"] is True
    assert set(commands["generate"]["context"]) == {"compose", "message", "commandBox"}
    assert commands["recent"]["type"] == "query" and [p["name"] for p in commands["recent"]["parameters"]] == ["query"]
    assert manifest["validDomains"] == ["addin.contoso.test:8443"]
    assert manifest["webApplicationInfo"] == {"id": CLIENT_ID, "resource": f"api://addin.contoso.test:8443/{CLIENT_ID}"}
    assert manifest["extensions"]  # the add-in stays beside the bot


def test_the_bot_id_comes_from_teams_bot_id_too(tmp_path, monkeypatch):
    monkeypatch.setenv("TEAMS_BOT_ID", BOT_ID)
    monkeypatch.setenv("ENTRA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("ENTRA_TENANT_ID", "aaaaaaaa-0000-0000-0000-000000000001")
    monkeypatch.setenv("SERVER_PUBLIC_URL", "https://addin.contoso.test:8443")
    monkeypatch.setenv("SERVER_SECRET_KEY", "secret")
    out = generate(tmp_path, "--client-id", CLIENT_ID)
    with zipfile.ZipFile(out / "app-package.zip") as package:
        assert json.loads(package.read("manifest.json"))["bots"][0]["botId"] == BOT_ID


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--bot-id", BOT_ID], "--bot-id needs --client-id"),
        (["--client-id", CLIENT_ID, "--bot-id", "my-bot"], "--bot-id must be a GUID"),
    ],
)
def test_bad_bot_options(tmp_path, capsys, arguments, message):
    assert main(["manifest", "--base-url", "https://host", *arguments, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def agents_toolkit_validate(manifest: Path) -> subprocess.CompletedProcess:
    """Microsoft's own check of an app package's manifest (and the agent and plugin it names), offline."""
    atk = ROOT / "node_modules" / ".bin" / "atk"
    assert atk.exists(), "scripts/test.sh installs the Agents Toolkit CLI with npm ci"
    command = [str(atk), "validate", "--manifest-file", str(manifest), "--interactive", "false"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=manifest.parent)


def test_microsofts_agents_toolkit_passes_the_whole_app_package(tmp_path):
    bot_id, copilot = "aaaaaaaa-2222-3333-4444-555555555555", ("--copilot-auth-reference", "ref-123")
    out = generate(tmp_path, "--client-id", CLIENT_ID, "--bot-id", bot_id, *copilot)
    unpacked = tmp_path / "package"
    with zipfile.ZipFile(out / "app-package.zip") as package:
        package.extractall(unpacked)
    assert {"declarativeAgent.json", "ai-plugin.json", "openapi.yaml"} <= {path.name for path in unpacked.iterdir()}
    checked = agents_toolkit_validate(unpacked / "manifest.json")
    assert checked.returncode == 0 and "All passed" in checked.stdout, checked.stdout + checked.stderr
    manifest = json.loads((unpacked / "manifest.json").read_text())
    manifest["extensions"][0]["alternates"][1]["alternateIcons"]["icon"]["size"] = 100
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    refused = agents_toolkit_validate(unpacked / "manifest.json")
    assert refused.returncode != 0 and "alternateIcons/icon/size" in refused.stdout  # it does check
