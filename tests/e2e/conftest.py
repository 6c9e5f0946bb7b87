"""Debian's headless Chromium for the browser tests (never a downloaded browser)."""

import shutil
from pathlib import Path

import pytest

if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
    pytest.fail("Debian's chromium is needed for the browser tests (.ci/run installs it)")

from playwright.sync_api import sync_playwright  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 780}
DESK = {"width": 1280, "height": 860}


@pytest.fixture()
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()
