"""The Teams dialog in headless Chromium with a TeamsJS double, against a real `addin-server serve` with Teams
on: opened by the bot, signed in by Teams SSO, generate with progress, choose, post; the posted card's picture
fetches without a token."""

from __future__ import annotations

import io
import json
import urllib.parse
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.addin_server.live_server import LiveServer
from tests.bot_framework import LocalBotFramework
from tests.browser.conftest import screenshot, wait_until_true

DOUBLE = (Path(__file__).parent / "teams_double.js").read_text()


@pytest.fixture(scope="module")
def bot_framework(provider):
    framework = LocalBotFramework(provider).start()
    yield framework
    framework.stop()


@pytest.fixture(scope="module")
def teams_server(test_model_dir, tmp_path_factory, bot_framework):
    env = {**bot_framework.server_env(), "RATE_LIMIT": "1000/minute", "TEAMS_INVOKE_WAIT_S": "0"}
    server = LiveServer(test_model_dir, tmp_path_factory.mktemp("teams") / "instance", env=env).start()
    yield server
    server.stop()


def invoke(server, bot_framework, name: str, value: dict) -> dict:
    response = requests.post(
        f"{server.url}/api/messages",
        json=bot_framework.invoke(name, value),
        headers=bot_framework.headers(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def open_dialog(browser, provider):
    pages = []

    def open_(url: str, **config):
        context = browser.new_context(viewport={"width": 720, "height": 900})
        settings = {"token": provider.token(), **config}
        context.route(
            "**/teams/static/vendor/MicrosoftTeams.min.js",
            lambda route: route.fulfill(
                content_type="text/javascript", body=f"window.__teamsConfig = {json.dumps(settings)};\n{DOUBLE}"
            ),
        )
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector("#app[aria-busy=false]")
        pages.append(page)
        return page

    yield open_
    for page in pages:
        assert page.errors == [], page.errors
        page.context.close()


def teams_calls(page, name: str) -> list[dict]:
    return [call for call in page.evaluate("window.__teamsCalls") if call["call"] == name]


def posted_card_picture(server, bot_framework, image_id: str) -> Image.Image:
    """Submit the dialog's choice as Teams would, and fetch the card's picture with no token."""
    value = {"commandId": "generate", "commandContext": "compose", "data": {"image_id": image_id}}
    [attachment] = invoke(server, bot_framework, "composeExtension/submitAction", value)["composeExtension"][
        "attachments"
    ]
    url = next(element["url"] for element in attachment["content"]["body"] if element["type"] == "Image")
    picture = requests.get(url, timeout=10)
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(picture.content))


def test_from_a_message_generate_watch_progress_choose_and_post(teams_server, bot_framework, open_dialog, provider):
    value = {
        "commandId": "generate",
        "commandContext": "message",
        "messagePayload": {"id": "1", "body": {"contentType": "html", "content": "<p>a red circle</p>"}},
    }
    task = invoke(teams_server, bot_framework, "composeExtension/fetchTask", value)["task"]
    page = open_dialog(task["value"]["url"])
    assert page.input_value("#prompt") == "a red circle"
    assert teams_calls(page, "app.initialize")
    page.select_option("#count", "2")
    page.click("#advanced summary")
    page.fill("#steps", "40")
    page.click("#generate")
    wait_until_true(page, "document.getElementById('progress').value > 0")
    assert "step" in page.inner_text("#progress-label")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)
    assert page.locator("#grid button").count() == 2
    page.click("#grid button:nth-child(2)")
    page.click("#post")
    [submitted] = teams_calls(page, "dialog.url.submit")
    assert teams_calls(page, "authentication.getAuthToken")
    jobs = requests.get(
        f"{teams_server.url}/api/jobs", headers={"Authorization": f"Bearer {provider.token()}"}, timeout=10
    ).json()["data"]
    second = jobs[0]["images"][1]
    assert submitted["result"] == {"image_id": second["id"]}
    assert posted_card_picture(teams_server, bot_framework, second["id"]).size == (second["width"], second["height"])
    screenshot(page, "teams-dialog")


def test_a_prompt_that_takes_too_long_opens_a_dialog_that_follows_its_job(teams_server, bot_framework, open_dialog):
    value = {"commandId": "generate", "commandContext": "compose", "data": {"prompt": "a blue square"}}
    task = invoke(teams_server, bot_framework, "composeExtension/submitAction", value)["task"]
    assert task["type"] == "continue"
    job_id = urllib.parse.parse_qs(urllib.parse.urlparse(task["value"]["url"]).query)["job"][0]
    page = open_dialog(task["value"]["url"])
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)
    assert page.locator("#grid button").count() == 1
    page.click("#post")
    [submitted] = teams_calls(page, "dialog.url.submit")
    assert posted_card_picture(teams_server, bot_framework, submitted["result"]["image_id"]).size == (64, 64)
    assert job_id


def test_when_teams_cannot_sign_in_the_dialog_says_so(teams_server, bot_framework, open_dialog):
    task = invoke(
        teams_server,
        bot_framework,
        "composeExtension/fetchTask",
        {"commandId": "generate", "commandContext": "compose"},
    )["task"]
    page = open_dialog(task["value"]["url"], tokenError="resourceRequiresConsent")
    page.fill("#prompt", "a red circle")
    page.click("#generate")
    page.wait_for_selector("#message:not([hidden])")
    assert "Teams could not sign you in" in page.inner_text("#message")
    assert page.is_visible("#sign-in") and teams_calls(page, "dialog.url.submit") == []
