"""Browser tests: headless Debian Chromium driven by Playwright's sync API against pytest-django's live server.

Playwright's sync API keeps an asyncio event loop running in the test thread for as long as it is
started, so Django's ORM would raise SynchronousOnlyOperation when a test (or the transactional_db
teardown) touches the database. DJANGO_ALLOW_ASYNC_UNSAFE is acceptable for tests only, and only while
Playwright runs: the browser fixture is package-scoped, sets the variable, and removes it again, so it
neither leaks into the other tests of the session nor into their subprocesses (tests/test_project.py runs
`check --deploy`, which warns about that variable).
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD, Bank, build_bank

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# The only console error we tolerate: a 404 for /favicon.ico, which Chromium requests by itself when a
# page has no <link rel="icon"> (base.html now links favicon.svg; such errors are kept in .ignored).
IGNORED_ERROR_PATHS = frozenset({"/favicon.ico"})


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def bank_live(transactional_db: None) -> Bank:
    """The shared test bank, committed so that the live server thread sees it."""
    return build_bank()


@dataclass
class BrowserErrors:
    """Console errors, uncaught page errors and 5xx responses seen by every page of a test."""

    console: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)
    server: list[str] = field(default_factory=list)
    checked: bool = False

    def on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        text = f"{msg.text} @ {url}"
        if urlsplit(url).path in IGNORED_ERROR_PATHS:
            self.ignored.append(text)
        else:
            self.console.append(text)

    def on_response(self, response: Any) -> None:
        if response.status >= 500:
            self.server.append(f"{response.status} {response.request.method} {response.url}")

    def all(self) -> list[str]:
        return [
            *(f"console: {e}" for e in self.console),
            *(f"pageerror: {e}" for e in self.page),
            *(f"server: {e}" for e in self.server),
        ]

    def assert_none(self) -> None:
        self.checked = True
        assert self.all() == []


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def new_page(browser: Any, browser_errors: BrowserErrors) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh context (own cookies) whose errors are collected into browser_errors."""
    contexts: list[Any] = []

    def open_page(**context_options: Any) -> Any:
        context = browser.new_context(locale="zh-CN", **{**DESKTOP, **context_options})
        context.set_default_timeout(8_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", browser_errors.on_console)
        page.on("pageerror", lambda exc: browser_errors.page.append(str(exc)))
        page.on("response", browser_errors.on_response)
        return page

    yield open_page
    for context in contexts:
        context.close()
    # Safety net for a test that passed without checking: its errors still fail it (as a teardown error).
    if not browser_errors.checked:
        assert browser_errors.all() == []


def sign_in(page: Any, base_url: str, username: str) -> None:
    """Fill and submit the real sign-in form."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/accounts/login/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def assert_fits_width(page: Any) -> None:
    """No horizontal scrolling of the whole page (tables scroll inside their own wrapper)."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport at {page.url}"


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A valid RGB PNG image, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\xb9\x1c\x1c" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def submit_refused(page: Any, button: Any, browser_errors: BrowserErrors, path: str) -> None:
    """Submit a form the server refuses with 422 and its errors re-rendered (the credit views' choice).

    Chromium logs every 4xx document load as a console error; this one, and only this one, is expected:
    it is moved to browser_errors.ignored so that any other console error still fails the test.
    """
    with page.expect_response(lambda r: urlsplit(r.url).path == path and r.request.method == "POST") as refused:
        button.click()
    assert refused.value.status == 422
    page.wait_for_load_state("load")
    expected = (
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
        f" @ {refused.value.url}"
    )
    for _ in range(40):
        if expected in browser_errors.console:
            break
        page.wait_for_timeout(50)
    assert browser_errors.console.count(expected) == 1, browser_errors.console
    browser_errors.console.remove(expected)
    browser_errors.ignored.append(expected)
