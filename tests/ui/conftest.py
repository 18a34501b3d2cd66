"""Fixtures of the kiosk tests: a started ward, an HTTP client on its app, one chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.ui.browser import launch
from tests.ui.ward import BADGES, PINS, Ward


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per test module (each browser module runs on one worker)."""
    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
async def ward(tmp_path: Path) -> AsyncIterator[Ward]:
    """A started ward (no socket: the tests talk to the app in process)."""
    w = Ward(tmp_path)
    try:
        await w.start(serve=False)
        yield w
    finally:
        await w.stop()


@pytest.fixture
async def client(ward: Ward) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the kiosk app in process, keeping its cookie."""
    transport = httpx.ASGITransport(app=ward.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def badge_in(ward: Ward, client: httpx.AsyncClient, user: str) -> httpx.Response:
    """Scan the user's badge at the reader, wait for the screen to see it, type the PIN."""
    ward.metal.scanner.badge(BADGES[user])
    await ward.until(lambda: ward.runtime.scans.pending_badge is not None)
    return await client.post("/api/signin", json={"pin": PINS[user]})
