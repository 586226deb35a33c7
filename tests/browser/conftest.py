"""A real headless Chromium (Debian's, no browser download) on the task pane of a real server, with the Office
host double served at the office.js CDN address."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.addin_server.live_server import LiveServer

DOUBLE = (Path(__file__).parent / "office_double.js").read_text()
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed (scripts/test.sh installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(test_model_dir, tmp_path_factory):
    server = LiveServer(
        test_model_dir,
        tmp_path_factory.mktemp("taskpane") / "instance",
        env={"RATE_LIMIT": "1000/minute"},
    ).start()
    yield server
    server.stop()


@pytest.fixture
def open_pane(browser, server):
    """Open the task pane as if in `host`, with the API sets in `sets`; returns the page."""
    pages = []

    def open_(host: str = "PowerPoint", sets: dict | None = None, office: bool = True, at=None, **config):
        target = at or server
        # A context, so the double also reaches the sign-in dialog's window; the local identity provider's
        # test CA is not in Chromium's store.
        context = browser.new_context(viewport={"width": 360, "height": 900}, ignore_https_errors=True)
        page = context.new_page()
        settings = {"host": host, "sets": sets if sets is not None else {"PowerPointApi": "1.10"}, **config}
        if office:
            context.route(
                "https://appsforoffice.microsoft.com/**",
                lambda route: route.fulfill(
                    content_type="text/javascript", body=f"window.__officeConfig = {json.dumps(settings)};\n{DOUBLE}"
                ),
            )
        else:
            context.route("https://appsforoffice.microsoft.com/**", lambda route: route.abort())
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        page.goto(target.url + "/taskpane")
        page.wait_for_selector("#app[aria-busy=false]")
        pages.append(page)
        return page

    yield open_
    for page in pages:
        assert page.errors == [], page.errors
        page.context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"taskpane-{name}.png"), full_page=True)


def wait_until_true(page, expression: str, timeout_s: float = 60.0) -> None:
    """Poll a JavaScript expression until it is true. `page.evaluate` runs it through the devtools protocol,
    which the pane's Content-Security-Policy allows; `wait_for_function` would `eval` it inside the page."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        page.wait_for_timeout(50)
