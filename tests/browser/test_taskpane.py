"""The task pane in headless Chromium against a real server, with the Office double in place of Office.js."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.browser.conftest import screenshot, wait_until_true


def office_calls(page, name: str) -> list[dict]:
    return [call for call in page.evaluate("window.__officeCalls") if call["call"] == name]


def generate(page, prompt: str) -> None:
    page.fill("#prompt", prompt)
    page.click("#generate")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)


def press_insert(page) -> None:
    """Press Insert and wait for the pane's answer."""
    page.click("#insert")
    page.wait_for_selector("#message:not([hidden])")


def served_image(server, page, index: int) -> str:
    """The base64 of variation `index` as the API serves it."""
    label = page.get_attribute(f"#grid button:nth-child({index + 1})", "aria-label")
    seed = int(label.rsplit("seed ", 1)[1])
    job = next(job for job in server.get("/api/jobs").json()["data"] if any(i["seed"] == seed for i in job["images"]))
    url = next(image["url"] for image in job["images"] if image["seed"] == seed)
    return base64.b64encode(requests.get(url, timeout=10).content).decode()


def test_powerpoint_generate_progress_choose_insert(open_pane, server):
    page = open_pane("PowerPoint")
    assert page.input_value("#shape") == "wide" and page.get_attribute("#background-option", "hidden") is None
    page.click("#advanced summary")
    page.fill("#steps", "40")
    page.fill("#prompt", "a red circle on white")
    page.click("#generate")
    wait_until_true(page, "document.getElementById('progress').value > 0")
    assert "step" in page.inner_text("#progress-label")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)
    assert page.locator("#grid button").count() == 2
    page.click("#grid button:nth-child(2)")
    press_insert(page)
    [insert] = office_calls(page, "setSelectedDataAsync")
    assert insert["problems"] == [] and insert["data"] == served_image(server, page, 1)
    assert insert["options"]["imageWidth"] == 480 and insert["options"]["imageLeft"] == 240  # points, centred
    last_shape = office_calls(page, "sync")[-1]["shapes"][-1]
    assert last_shape["altTextDescription"] == "a red circle on white" and last_shape["name"] == "Generated image"
    screenshot(page, "powerpoint")


def test_powerpoint_background_and_an_older_powerpoint(open_pane):
    page = open_pane("PowerPoint")
    generate(page, "a night sky")
    page.check("input[value=background]")
    press_insert(page)
    assert len(office_calls(page, "setPictureOrTextureFill")) == 1
    old = open_pane("PowerPoint", sets={"PowerPointApi": "1.4"})
    assert old.get_attribute("#background-option", "hidden") is not None  # hidden, not broken
    generate(old, "a square")
    press_insert(old)
    assert old.inner_text("#message") == "Inserted." and len(office_calls(old, "setSelectedDataAsync")) == 1
    assert office_calls(old, "sync") == []  # no alt-text call where the API set lacks it


def test_word_inserts_inline_with_alt_text(open_pane, server):
    page = open_pane("Word", sets={"WordApi": "1.2"})
    assert page.get_attribute("#placement", "hidden") is not None
    generate(page, "a blue square")
    press_insert(page)
    [picture] = office_calls(page, "insertInlinePictureFromBase64")
    assert picture["data"] == served_image(server, page, 0) and picture["location"] == "Replace"
    assert picture["altTextDescription"] == "a blue square" and picture["width"] == 468
    screenshot(page, "word")


def test_cancel_stops_the_job(open_pane):
    page = open_pane("PowerPoint")
    page.click("#advanced summary")
    page.fill("#steps", "150")
    page.fill("#prompt", "a slow picture")
    page.click("#generate")
    wait_until_true(page, "document.getElementById('progress').value > 0")
    page.click("#cancel")
    page.wait_for_selector("#message:not([hidden])", timeout=30_000)
    assert page.inner_text("#message") == "Cancelled." and not page.is_visible("#results")


def test_a_busy_server_shows_the_wait(open_pane):
    page = open_pane("PowerPoint")
    # The server's own 429 body and header, as the queue-full path sends them.
    page.route(
        "**/api/jobs",
        lambda route: (
            route.fulfill(
                status=429,
                headers={"Retry-After": "7", "Content-Type": "application/json"},
                body='{"error": {"message": "the queue is full", "type": "rate_limit_error", "param": null, '
                '"code": "queue_full"}}',
            )
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.fill("#prompt", "anything")
    page.click("#generate")
    page.wait_for_selector("#message.error")
    assert page.inner_text("#message") == "The image server is busy. Try again in 7 s."


def test_office_refusing_the_picture_is_explained(open_pane):
    page = open_pane("PowerPoint", refuseInsert="The picture could not be inserted (2001)")
    generate(page, "a heart")
    page.click("#insert")
    page.wait_for_selector("#message.error")
    assert "Office refused the picture: The picture could not be inserted (2001)" in page.inner_text("#message")


def big_png(width: int, height: int) -> bytes:
    """A picture whose PNG is well over Office on the web's 5 MB (noise does not compress)."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_picture_too_large_for_office_on_the_web_goes_as_a_jpeg(open_pane):
    import io

    from PIL import Image

    png = big_png(1600, 900)
    assert len(base64.b64encode(png)) > 5 * 1024 * 1024
    page = open_pane("PowerPoint")
    page.route("**/api/images/**", lambda route: route.fulfill(status=200, content_type="image/png", body=png))
    generate(page, "a very detailed picture")
    page.click("#insert")
    page.wait_for_selector("#message:not([hidden])", timeout=30_000)
    assert page.inner_text("#message") == "Inserted."
    [insert] = office_calls(page, "setSelectedDataAsync")
    assert insert["problems"] == [] and len(insert["data"]) <= 5 * 1024 * 1024
    sent = Image.open(io.BytesIO(base64.b64decode(insert["data"])))
    assert sent.format == "JPEG" and sent.size == (1600, 900)  # same picture, same pixels across


def test_keyboard_only(open_pane):
    page = open_pane("PowerPoint")
    assert page.evaluate("document.activeElement.id") == "prompt"
    page.keyboard.type("a keyboard star")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "generate":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)
    assert page.evaluate("document.activeElement.getAttribute('role')") == "option"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "insert":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#message:not([hidden])")
    assert len(office_calls(page, "setSelectedDataAsync")) == 1
    labels = page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => e.type !== 'radio' && !document.querySelector(`label[for=${e.id}]`)).map(e => e.id)"
    )
    assert labels == []  # every field has a label


def test_history_inserts_again(open_pane):
    page = open_pane("PowerPoint")
    generate(page, "a history circle")
    page.wait_for_selector("#history button")
    page.click("#history button >> nth=0")
    page.wait_for_selector("#message:not([hidden])")
    assert len(office_calls(page, "setSelectedDataAsync")) == 1


def test_outside_office_the_page_says_where_to_open_it(open_pane):
    page = open_pane(office=False)
    assert page.is_visible("#outside-office") and not page.is_visible("#generate-form")
    screenshot(page, "browser")


def test_more_like_this_makes_variations_of_the_chosen_picture(open_pane, server):
    page = open_pane("PowerPoint")
    page.click("#advanced summary")
    page.fill("#seed", "100")
    generate(page, "a matching set")
    first = page.get_attribute("#grid button:nth-child(1)", "aria-label")
    assert first.endswith("seed 100")
    page.click("#grid button:nth-child(2)")
    chosen = server.get("/api/jobs").json()["data"][0]["images"][1]["id"]
    page.click("#more")
    wait_until_true(page, f"document.querySelector('#grid button').getAttribute('aria-label') !== {first!r}")
    job = server.get("/api/jobs").json()["data"][0]
    assert job["request"]["prompt"] == "a matching set" and job["request"]["kind"] == "edit"
    assert job["request"]["strength"] == 0.5 and job["request"]["seed"] != 100
    edited = [j for j in server.get("/api/jobs").json()["data"] if j["request"].get("kind") == "edit"]
    assert edited and chosen  # redrawn from the chosen picture (its id went as image_id)


def test_signed_in_with_office_sso(open_pane, signed_in_server, provider):
    server = signed_in_server
    signed_out = open_pane("PowerPoint", at=server)
    signed_out.fill("#prompt", "not signed in")
    signed_out.click("#generate")
    signed_out.wait_for_selector("#message.error")
    assert signed_out.inner_text("#message") == "Sign in to generate images."
    assert signed_out.is_visible("#sign-in")
    page = open_pane("PowerPoint", at=server, accessToken=provider.token(oid="pane-user"))
    generate(page, "signed in with SSO")
    assert office_calls(page, "getAccessToken")[0]["options"]["allowSignInPrompt"] is True
    jobs = server.get("/api/jobs", headers={"Authorization": f"Bearer {provider.token(oid='pane-user')}"}).json()
    assert jobs["data"][0]["request"]["prompt"] == "signed in with SSO"

    # SSO unavailable: the Sign in button runs the dialog (MSAL code flow at the provider) instead.
    signed_out.click("#sign-in")
    signed_out.wait_for_selector("#message:not(.error)", timeout=30_000)
    assert signed_out.inner_text("#message") == "Signed in."
    generate(signed_out, "signed in with the dialog")
    assert office_calls(signed_out, "displayDialogAsync")[0]["url"].endswith("/auth/login")


def test_signed_in_with_nested_app_authentication(open_pane, signed_in_server, provider):
    from tests.identity_provider import CLIENT_ID

    server = signed_in_server
    sets = {"PowerPointApi": "1.10", "NestedAppAuth": "1.1"}
    # Not signed in yet: the silent request needs interaction; the Sign in button opens Office's window.
    page = open_pane("PowerPoint", at=server, sets=sets, nested={"popupToken": provider.token(oid="naa-user")})
    page.fill("#prompt", "not yet")
    page.click("#generate")
    page.wait_for_selector("#message.error")
    assert page.inner_text("#message") == "Sign in to generate images." and page.is_visible("#sign-in")
    page.click("#sign-in")
    page.wait_for_selector("#message:not(.error)")
    assert page.inner_text("#message") == "Signed in." and not page.is_visible("#sign-in")
    generate(page, "signed in through the bridge")
    bridge = [call for call in page.evaluate("window.__officeCalls") if call["call"].startswith("nestedAppAuth.")]
    methods = [call["call"].split(".")[1] for call in bridge]
    assert methods[0] == "GetInitContext" and methods.index("GetToken") < methods.index("GetTokenPopup")
    assert f"api://{CLIENT_ID}/access_as_user" in bridge[1]["tokenParams"]["scope"].split()
    assert bridge[1]["tokenParams"]["clientId"] == CLIENT_ID
    assert office_calls(page, "getAccessToken") == [] and office_calls(page, "displayDialogAsync") == []
    jobs = server.get("/api/jobs", headers={"Authorization": f"Bearer {provider.token(oid='naa-user')}"}).json()
    assert jobs["data"][0]["request"]["prompt"] == "signed in through the bridge"


def test_an_unreachable_server_is_explained(open_pane):
    page = open_pane("Word", sets={"WordApi": "1.2"})
    page.route("**/api/jobs", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.fill("#prompt", "offline")
    page.click("#generate")
    page.wait_for_selector("#message.error")
    assert page.inner_text("#message") == "The image server cannot be reached. Check your connection."
    assert page.is_enabled("#generate")  # ready to try again


@pytest.fixture(scope="module")
def vocabulary_server(test_model_dir, tmp_path_factory):
    """A server whose model lists the words it knows, as the embedded model does."""
    import json
    import shutil

    from tests.addin_server.live_server import LiveServer

    folder = tmp_path_factory.mktemp("vocabulary") / "model"
    shutil.copytree(test_model_dir, folder)
    defaults = json.loads((folder / "engine_defaults.json").read_text())
    (folder / "engine_defaults.json").write_text(json.dumps({**defaults, "known_words": ["a", "on", "red", "circle"]}))
    server = LiveServer(folder, tmp_path_factory.mktemp("vocabulary") / "instance").start()
    yield server
    server.stop()


def test_the_pane_says_which_words_the_model_does_not_know(open_pane, vocabulary_server):
    page = open_pane("PowerPoint", at=vocabulary_server)
    page.select_option("#style", "photo")  # the preset's words are the pane's, not the person's: not listed
    generate(page, "a golden retriever on a beach")
    assert page.inner_text("#ignored") == "This model does not know: golden, retriever, beach"
    page.fill("#prompt", "a red circle")
    page.click("#generate")
    wait_until_true(page, "document.getElementById('ignored').hidden")  # every word known: no note
