"""Debian's chromium driven by Playwright, never a downloaded browser."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREEN = {"width": 1280, "height": 800}


def launch(playwright: Playwright) -> Browser:
    """Start the system chromium headless."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "ui"


def screenshot(page: Page, name: str) -> Path:
    """Keep the final screen of a test under test-output/ui (kept after the run, unlike tmp)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def press_pin(page: Page, pin: str, pad: str = "pinpad") -> None:
    """Type a PIN on the on-screen pad and validate it."""
    for digit in pin:
        page.get_by_test_id(f"{pad}-{digit}").click()
    page.get_by_test_id(f"{pad}-ok").click()
