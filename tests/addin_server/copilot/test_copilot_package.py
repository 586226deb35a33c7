"""The Copilot files of the app package validate against their schemas, the OpenAPI file keeps to the subset
Copilot reads, and the plugin's functions, card bindings and data_path fit the real API's answers."""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from pathlib import Path

import jsonpath_rfc9535
import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from addin_server.cli import main
from addin_server.copilot import openapi_subset
from addin_server.copilot.package import openapi_document
from tests.identity_provider import CLIENT_ID

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
BASE_URL = "https://images.contoso.test"


def schema(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / name).read_text()))


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("copilot-manifests")
    arguments = ["manifest", "--base-url", BASE_URL, "--client-id", CLIENT_ID, "--copilot-auth-reference", "ref-123"]
    assert main([*arguments, "--out", str(out)]) == 0
    with zipfile.ZipFile(out / "app-package.zip") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def errors(validator: jsonschema.Draft7Validator, document: dict) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def test_every_file_validates_against_its_schema(package):
    manifest = json.loads(package["manifest.json"])
    agent = json.loads(package["declarativeAgent.json"])
    plugin = json.loads(package["ai-plugin.json"])
    assert errors(schema("teams-v1.30.json"), manifest) == []
    assert errors(schema("da-v1.8.json"), agent) == []
    assert errors(schema("plugin-v2.4.json"), plugin) == []
    validate(yaml.safe_load(package["openapi.yaml"]))
    assert b"&id" not in package["openapi.yaml"] and b"*id" not in package["openapi.yaml"]  # plain YAML
    assert manifest["copilotAgents"]["declarativeAgents"][0]["file"] == "declarativeAgent.json"
    assert [action["file"] for action in agent["actions"]] == ["ai-plugin.json"]
    assert plugin["runtimes"][0]["spec"]["url"] == "openapi.yaml"
    assert plugin["runtimes"][0]["auth"] == {"type": "OAuthPluginVault", "reference_id": "ref-123"}
    assert manifest["extensions"] and manifest["validDomains"] == ["images.contoso.test"]  # beside the add-in
    assert len(agent["conversation_starters"]) <= 12 and len(agent["instructions"]) <= 8000
    assert "cannot change or\nedit an existing picture" in agent["instructions"]
    broken = {**plugin, "namespace": "not a namespace!"}
    assert errors(schema("plugin-v2.4.json"), broken)


def test_every_function_is_an_operation(package):
    plugin = json.loads(package["ai-plugin.json"])
    spec = yaml.safe_load(package["openapi.yaml"])
    operations = {op["operationId"] for item in spec["paths"].values() for op in item.values() if "operationId" in op}
    assert {function["name"] for function in plugin["functions"]} == operations == {"createImages", "getImageJob"}
    assert set(plugin["runtimes"][0]["run_for_functions"]) == operations
    assert spec["servers"] == [{"url": BASE_URL}]


def test_the_shipped_spec_keeps_to_the_copilot_subset(package):
    assert openapi_subset.check(yaml.safe_load(package["openapi.yaml"])) == []


def _nested_body(spec: dict) -> None:
    body = spec["paths"]["/api/copilot/images"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body["properties"]["options"] = {"type": "object", "description": "nested", "properties": {}}


def _undescribed(spec: dict) -> None:
    body = spec["paths"]["/api/copilot/images"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    del body["properties"]["shape"]["description"]


BREAKS = {
    "OPENAPI_3_0": lambda spec: spec.update(openapi="3.1.0"),
    "ONE_SERVER": lambda spec: spec.update(servers=[{"url": "http://images.contoso.test"}]),
    "NO_COMPOSITION": lambda spec: spec["paths"]["/api/copilot/images"]["post"]["responses"]["200"]["content"][
        "application/json"
    ].update(schema={"oneOf": [{"type": "object"}, {"type": "string"}]}),
    "LOCAL_REFS": lambda spec: spec["paths"]["/api/copilot/images"]["post"]["responses"]["200"]["content"][
        "application/json"
    ].update(schema={"$ref": "https://example.com/schemas/answer.json"}),
    "GET_OR_POST": lambda spec: spec["paths"]["/api/copilot/images/{job_id}"].update(
        delete={"operationId": "cancel", "description": "Cancel", "responses": {"200": {"description": "ok"}}}
    ),
    "OPERATION_IDS": lambda spec: spec["paths"]["/api/copilot/images/{job_id}"]["get"].update(
        operationId="createImages"
    ),
    "DESCRIBED": _undescribed,
    "FLAT_BODIES": _nested_body,
}


@pytest.mark.parametrize("rule", list(BREAKS))
def test_the_checker_fails_a_spec_that_breaks_each_rule(rule):
    spec = copy.deepcopy(openapi_document(BASE_URL))
    BREAKS[rule](spec)
    assert rule in {problem.rule for problem in openapi_subset.check(spec)}
    assert set(BREAKS) == set(re.findall(r"^- ([A-Z_0-9]+):", openapi_subset.__doc__ or "", re.MULTILINE))


def test_the_card_and_data_path_fit_a_real_answer(package, copilot_app, copilot_headers):
    answer = (
        copilot_app.test_client()
        .post("/api/copilot/images", json={"prompt": "a red circle", "n": 2}, headers=copilot_headers)
        .get_json()
    )
    plugin = json.loads(package["ai-plugin.json"])
    for function in plugin["functions"]:
        semantics = function["capabilities"]["response_semantics"]
        [items] = [node.value for node in jsonpath_rfc9535.finditer(semantics["data_path"], answer)]
        assert isinstance(items, list) and len(items) == 2
        template = json.dumps(semantics["static_template"])
        bindings = set(re.findall(r"\$\{([^}]+)\}", template))
        assert bindings and all(binding in items[0] for binding in bindings), bindings - set(items[0])
        for name, path in semantics["properties"].items():
            assert [node.value for node in jsonpath_rfc9535.finditer(path, items[0])] == [items[0][name]]
        assert semantics["static_template"]["type"] == "AdaptiveCard"
    spec = yaml.safe_load(package["openapi.yaml"])
    answer_schema = spec["paths"]["/api/copilot/images"]["post"]["responses"]["200"]["content"]["application/json"]
    jsonschema.validate(answer, answer_schema["schema"])


def test_the_spec_lists_what_the_route_accepts(copilot_app, copilot_headers):
    body = openapi_document(BASE_URL)["paths"]["/api/copilot/images"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    client = copilot_app.test_client()
    for shape in body["properties"]["shape"]["enum"]:
        for style in body["properties"]["style"]["enum"][:1]:
            response = client.post(
                "/api/copilot/images", json={"prompt": "x", "shape": shape, "style": style}, headers=copilot_headers
            )
            assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--copilot-auth-reference", "ref"], "--copilot-auth-reference needs --client-id"),
        (["--client-id", CLIENT_ID, "--copilot-auth-reference", " "], "--copilot-auth-reference needs"),
    ],
)
def test_bad_copilot_options(tmp_path, capsys, arguments, message):
    assert main(["manifest", "--base-url", BASE_URL, *arguments, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_without_a_reference_the_package_has_no_agent(tmp_path):
    assert main(["manifest", "--base-url", BASE_URL, "--client-id", CLIENT_ID, "--out", str(tmp_path)]) == 0
    with zipfile.ZipFile(io.BytesIO((tmp_path / "app-package.zip").read_bytes())) as archive:
        assert "declarativeAgent.json" not in archive.namelist()
        assert "copilotAgents" not in json.loads(archive.read("manifest.json"))


def test_the_servers_openapi_lists_the_copilot_routes_where_they_answer(make_copilot_app, client):
    with_copilot = make_copilot_app().test_client().get("/openapi.json").get_json()
    validate(with_copilot)
    assert {"/api/copilot/images", "/api/copilot/images/{job_id}"} <= set(with_copilot["paths"])
    assert with_copilot["paths"]["/api/copilot/images"]["post"]["operationId"] == "copilotCreateImages"
    without = client.get("/openapi.json").get_json()  # local mode serves no Copilot routes, and lists none
    assert not any(path.startswith("/api/copilot") for path in without["paths"])
