"""The pane to Office's standard, in headless Chromium: axe-core finds no serious or critical problem in any
state, every action works from the keyboard in reading order, the Office theme and display language are
followed, it works at 320 px, and the Office double refuses what Office refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, wait_until_true
from tests.browser.test_change_picture import selected_picture
from tests.browser.test_taskpane import generate, office_calls

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
#: Calls Office refuses, each made against the double; maps a name to the refusal's message (null: accepted).
REFUSALS = (Path(__file__).parent / "office_refusals.js").read_text()


@pytest.fixture(scope="module")
def axe_source() -> str:
    path = NODE_MODULES / "axe-core" / "axe.min.js"
    if not path.is_file():
        pytest.fail("axe-core is not installed: scripts/test.sh runs `npm ci`")
    return path.read_text()


def serious_violations(page, axe_source: str) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (WCAG 2.1 A and AA, and best practice)."""
    page.evaluate(axe_source)  # through the devtools protocol: the pane's CSP refuses inline scripts
    found = page.evaluate(
        """async () => (await axe.run(document, { runOnly: { type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })).violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)"""
    )
    return found


def fits_width(page, width: int) -> bool:
    return page.evaluate(f"document.documentElement.scrollWidth <= {width}")


def test_every_state_passes_axe_at_320_px_in_light_and_dark(open_pane, axe_source, signed_in_server):
    for theme in ("light", "dark"):
        page = open_pane("PowerPoint", theme=theme)
        page.set_viewport_size({"width": 320, "height": 900})
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        assert serious_violations(page, axe_source) == [], f"empty, {theme}"
        assert fits_width(page, 320)

        page.click("#advanced summary")
        page.fill("#steps", "150")
        page.fill("#prompt", "a slow red circle")
        page.click("#generate")
        wait_until_true(page, "document.getElementById('progress').value > 0")
        assert serious_violations(page, axe_source) == [], f"generating, {theme}"
        assert fits_width(page, 320)
        page.click("#cancel")
        page.wait_for_selector("#message:not([hidden])", timeout=60_000)

        page.fill("#steps", "")
        generate(page, "a green star")
        assert serious_violations(page, axe_source) == [], f"results, {theme}"
        assert fits_width(page, 320)

    page = open_pane("PowerPoint", refuseInsert="The document is read-only.")
    generate(page, "a refused square")
    page.click("#insert")
    page.wait_for_selector("#message.error")
    assert serious_violations(page, axe_source) == [], "error"

    signed_out = open_pane("PowerPoint", at=signed_in_server)
    signed_out.fill("#prompt", "not signed in")
    signed_out.click("#generate")
    signed_out.wait_for_selector("#sign-in:not([hidden])")
    assert serious_violations(signed_out, axe_source) == [], "signed out"


def test_progress_shows_for_each_variation(open_pane):
    page = open_pane("PowerPoint")
    page.select_option("#count", "3")
    page.click("#advanced summary")
    page.fill("#steps", "150")
    page.fill("#prompt", "three circles")
    page.click("#generate")
    wait_until_true(page, "document.getElementById('progress').value > 0")
    wait_until_true(page, "document.querySelector('#pending fluent-progress-bar').value > 0")
    labels = page.eval_on_selector_all(
        "#pending fluent-progress-bar", "bars => bars.map(b => b.getAttribute('aria-label'))"
    )
    assert len(labels) == 3 and all(f"Variation {i + 1}: step" in label for i, label in enumerate(labels))
    page.click("#cancel")
    page.wait_for_selector("#message:not([hidden])", timeout=60_000)
    assert page.get_attribute("#pending", "hidden") is not None


def tab_to(page, element_id: str, limit: int = 30) -> list[str]:
    """Press Tab until `element_id` has focus; the ids (or roles) focused on the way, in order."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.getAttribute('role') || ''")
        seen.append(focused)
        if focused == element_id:
            return seen
    raise AssertionError(f"Tab never reached #{element_id}: {seen}")


def test_every_action_by_keyboard_alone_in_reading_order(open_pane):
    page = open_pane("PowerPoint", selected=selected_picture(left=100, top=80, width=300, height=200))
    # Reading order: each Tab stop comes after the one before it in the document.
    order = tab_to(page, "generate")
    positions = page.evaluate(
        """(ids) => ids.filter(Boolean).map((id) => document.getElementById(id))
             .filter(Boolean).map((el, i, all) => i === 0 || (all[i - 1].compareDocumentPosition(el) & 4) !== 0)""",
        order,
    )
    assert all(positions), f"focus jumped back: {order}"

    # Generate, choose the second variation with the arrow keys, insert it.
    page.focus("#prompt")
    page.keyboard.type("a keyboard star")
    tab_to(page, "generate")
    page.keyboard.press("Enter")
    page.wait_for_selector("#results:not([hidden])", timeout=60_000)
    assert page.evaluate("document.activeElement.getAttribute('role')") == "option"
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#grid button:nth-child(2)", "aria-selected") == "true"
    tab_to(page, "insert")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message:not([hidden])")
    [insert] = office_calls(page, "setSelectedDataAsync")
    assert insert["problems"] == []

    # More like this.
    before = page.get_attribute("#grid button:nth-child(1)", "aria-label")
    tab_to(page, "more")
    page.keyboard.press("Enter")
    wait_until_true(page, f"document.querySelector('#grid button').getAttribute('aria-label') !== {before!r}")

    # Change the selected picture, then Replace it.
    page.focus("#prompt")
    page.keyboard.press("Shift+Tab")
    while page.evaluate("document.activeElement.id") != "change-selected":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#changing:not([hidden])")
    tab_to(page, "generate")
    page.keyboard.press("Enter")
    page.wait_for_selector("#replace:not([hidden])", timeout=60_000)
    tab_to(page, "replace")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == "Replaced the original picture."
    assert office_calls(page, "deleteShape")[0]["id"] == "selected-picture"


def test_german_office_gets_a_german_pane(open_pane):
    page = open_pane("PowerPoint", language="de-DE")
    assert page.evaluate("document.documentElement.lang") == "de"
    assert page.inner_text("label[for=prompt]") == "Beschreiben Sie das Bild"
    assert page.inner_text("#generate") == "Erzeugen" and page.title() == "Bildgenerator"
    empty = page.evaluate("[...document.querySelectorAll('[data-text]')].filter(e => !e.textContent.trim()).length")
    assert empty == 0
    generate(page, "ein roter Kreis")
    assert page.get_attribute("#grid button:nth-child(1)", "aria-label").startswith("Variante 1, Startwert")
    page.click("#insert")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == "Eingefügt."
    # Both languages have every string, and an unknown language falls back to English.
    keys = page.evaluate(
        """async () => { const m = await import('/taskpane/static/strings.js');
             const [en, de] = [Object.keys(m.LANGUAGES.en).sort(), Object.keys(m.LANGUAGES.de).sort()];
             return { same: JSON.stringify(en) === JSON.stringify(de), fallback: m.useLanguage('xx-YY') }; }"""
    )
    assert keys == {"same": True, "fallback": "en"}


def test_high_contrast_keeps_the_selection_visible(open_pane):
    page = open_pane("PowerPoint")
    page.emulate_media(forced_colors="active")
    generate(page, "a contrast circle")
    style = page.eval_on_selector("#grid button[aria-selected=true]", "b => getComputedStyle(b).borderTopStyle")
    assert style == "double"  # the chosen picture is marked by shape, not by colour alone


def test_screenshots_of_powerpoint_and_word_light_and_dark(open_pane):
    ARTIFACTS.mkdir(exist_ok=True)
    for host, sets in (("PowerPoint", {"PowerPointApi": "1.10"}), ("Word", {"WordApi": "1.2"})):
        for theme in ("light", "dark"):
            page = open_pane(host, sets=sets, theme=theme)
            generate(page, "a yellow star on a night sky")
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            channels = [int(value) for value in background[background.index("(") + 1 : -1].split(",")[:3]]
            assert (sum(channels) / 3 < 80) == (theme == "dark"), background
            page.screenshot(path=str(ARTIFACTS / f"taskpane-{host.lower()}-{theme}.png"), full_page=True)


def test_the_office_double_refuses_what_office_refuses(open_pane):
    page = open_pane("PowerPoint", selected=selected_picture(left=10, top=10, width=300, height=200))
    refusals = page.evaluate(REFUSALS)
    assert refusals.pop("goodCall") is None
    assert "format Jpeg" in refusals["badFormat"]
    assert "transparency" in refusals["noTransparency"] and "not raw base64" in refusals["dataPrefix"]
    assert "imageWidth not in points" in refusals["pixelsAsText"]
    assert "not an image coercion" in refusals["wrongCoercion"]
    assert "unknown option imageAlt" in refusals["unknownOption"] and "callback" in refusals["noCallback"]
    assert "PropertyNotLoaded" in refusals["notLoaded"] and "PropertyNotLoaded" in refusals["loadedNotSynced"]
    assert "insertLocation Inside" in refusals["wordLocation"] and "width must be points" in refusals["wordWidthText"]
    assert "percentage" in refusals["dialogSize"] and "own domain" in refusals["dialogElsewhere"]
    assert "must be a boolean" in refusals["ssoOptionType"]
