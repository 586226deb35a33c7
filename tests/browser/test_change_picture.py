"""Changing the selected picture in both hosts, with the Office double's selection: read it, change it with a
strength, see the variations, Replace it in place (same position and size, alt text updated) or Insert beside."""

from __future__ import annotations

import base64
import io

from PIL import Image

from tests.browser.conftest import screenshot, wait_until_true
from tests.browser.test_taskpane import office_calls


def selected_picture(size: tuple[int, int] = (300, 200), **place) -> dict:
    picture = Image.new("RGB", size, (210, 40, 40))
    picture.paste((40, 40, 210), (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return {"base64": base64.b64encode(buffer.getvalue()).decode(), "altText": "a red circle", **place}


def change(page, strength: str = "0.7") -> None:
    page.click("#change-selected")
    page.wait_for_selector("#changing:not([hidden])")
    page.fill("#strength", strength)
    page.click("#generate")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)


def test_powerpoint_replace_puts_the_variation_where_the_picture_was(open_pane, server):
    page = open_pane("PowerPoint", selected=selected_picture(left=100, top=80, width=300, height=200))
    assert page.is_visible("#change-selected")
    page.click("#change-selected")
    page.wait_for_selector("#changing:not([hidden])")
    assert page.input_value("#prompt") == "a red circle" and page.inner_text("#generate") == "Change"
    page.fill("#prompt", "a red circle, flat colours")
    page.fill("#strength", "0.7")
    page.click("#generate")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)
    job = server.get("/api/jobs").json()["data"][0]
    assert job["request"]["kind"] == "edit" and job["request"]["strength"] == 0.7
    assert job["request"]["width"] > job["request"]["height"]  # the picture's own shape
    assert office_calls(page, "getImageAsBase64")[0]["options"]["format"] == "Png"
    assert page.is_visible("#replace")
    page.click("#grid button:nth-child(2)")
    page.click("#replace")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == "Replaced the original picture."
    [placed] = office_calls(page, "setSelectedDataAsync")
    options = placed["options"]
    assert placed["problems"] == [] and (options["imageLeft"], options["imageTop"], options["imageWidth"]) == (
        100,
        80,
        300,
    )
    assert office_calls(page, "deleteShape") == [{"call": "deleteShape", "id": "selected-picture"}]
    shapes = office_calls(page, "sync")[-1]["shapes"]
    assert [shape["altTextDescription"] for shape in shapes] == ["a red circle, flat colours"]
    screenshot(page, "change-picture")


def test_powerpoint_insert_puts_the_variation_beside_the_original(open_pane):
    page = open_pane("PowerPoint", selected=selected_picture(left=100, top=80, width=300, height=200))
    change(page)
    page.click("#insert")
    page.wait_for_selector("#message:not([hidden])")
    [placed] = office_calls(page, "setSelectedDataAsync")
    assert placed["options"]["imageLeft"] == 412 and placed["options"]["imageTop"] == 80
    assert office_calls(page, "deleteShape") == []


def test_word_replace_keeps_the_picture_in_its_paragraph(open_pane, server):
    page = open_pane("Word", sets={"WordApi": "1.2"}, selected=selected_picture((200, 300), width=240, height=360))
    change(page)  # the pane's shape says wide, but an edit keeps the picture's own (tall) shape
    page.click("#replace")
    page.wait_for_selector("#message:not([hidden])")
    [placed] = office_calls(page, "insertInlinePictureFromBase64")
    assert placed["location"] == "Replace" and placed["from"] == "selected picture"
    assert placed["width"] == 240 and placed["altTextDescription"] == "a red circle"
    assert office_calls(page, "getBase64ImageSrc")
    job = server.get("/api/jobs").json()["data"][0]
    assert job["request"]["height"] > job["request"]["width"]


def test_without_powerpoint_1_10_the_option_is_hidden(open_pane):
    page = open_pane(
        "PowerPoint", sets={"PowerPointApi": "1.9"}, selected=selected_picture(left=0, top=0, width=10, height=10)
    )
    assert not page.is_visible("#change-selected")


def test_with_nothing_selected_the_pane_says_what_to_do(open_pane):
    page = open_pane("PowerPoint")
    page.click("#change-selected")
    wait_until_true(page, "!document.getElementById('message').hidden")
    assert "Select a picture" in page.inner_text("#message") and not page.is_visible("#changing")
