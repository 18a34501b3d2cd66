"""A nurse, a pharmacist and a technician at the touchscreen, in chromium, on the in-process
ward (fake metal behind the real coordinator and workflows): each test keeps its final screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ui.browser import SCREEN, press_pin, screenshot
from tests.ui.ward import BADGES, PINS, WardThread

# One worker runs the whole module: its browser (and stack) start once.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("ui-browser")]


@pytest.fixture
def ward(tmp_path: Path) -> Iterator[WardThread]:
    """A ward serving the kiosk on a free port, stopped whatever happens."""
    w = WardThread(tmp_path)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def page(browser: Browser, ward: WardThread) -> Iterator[Page]:
    """A fresh 1280x800 kiosk page."""
    context = browser.new_context(viewport=SCREEN)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    asked: list[str] = []
    pg.on("request", lambda request: asked.append(request.url))
    pg.goto(ward.url)
    try:
        yield pg
    finally:
        context.close()
    # Works offline from the cabinet: the page never asked anything of anyone else.
    assert asked and all(url.startswith(ward.url) for url in asked), asked


def sign_in(page: Page, ward: WardThread, user: str) -> None:
    """Badge at the reader, PIN on the pad."""
    expect(page.get_by_test_id("scan-prompt")).to_be_visible()
    ward.call(ward.ward.metal.scanner.badge, BADGES[user])
    expect(page.get_by_test_id("hello")).to_be_visible()
    press_pin(page, PINS[user])
    expect(page.get_by_test_id("who")).to_be_visible()


def open_take_close(ward: WardThread, drawer: int, takes: dict[int, int]) -> None:
    """The nurse pulls the released drawer, takes, and pushes it shut."""
    metal = ward.ward.metal
    ward.wait(lambda: metal.released(drawer))
    ward.call(metal.open, drawer)
    ward.wait(
        lambda: ward.ward.cabinet.ticket() is None or ward.ward.cabinet.ticket().step == "open"
    )
    for pocket, n in takes.items():
        ward.call(metal.take, drawer, pocket, n)
    ward.call(metal.close, drawer)


def start_dose(page: Page) -> None:
    """Patient DUPONT, the scheduled paracetamol, unlock."""
    page.get_by_test_id("patient-IPP001").click()
    expect(page.get_by_test_id("order-O-PARA")).to_be_visible()
    expect(page.get_by_test_id("due-O-PARA")).to_contain_text("08:00")
    page.get_by_test_id("dispense-O-PARA").click()
    expect(page.get_by_test_id("pocket-0-0-target")).to_be_visible()
    page.get_by_test_id("task-confirm").click()


def test_nurse_dispenses_a_scheduled_dose(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "nurse1")
    expect(page.get_by_test_id("patient-IPP001")).to_contain_text("à donner")
    start_dose(page)
    expect(page.get_by_test_id("instruction")).to_contain_text("tiroir 1")
    open_take_close(ward, 0, {0: 2})
    expect(page.get_by_test_id("committed")).to_be_visible()
    assert ward.call(ward.ward.stock, 0, 0) == 18
    screenshot(page, "dispense_committed")


def test_wrong_pocket_ends_in_the_discrepancy_screen(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "nurse1")
    start_dose(page)
    open_take_close(ward, 0, {2: 2})
    expect(page.get_by_test_id("discrepancy")).to_be_visible()
    expect(page.get_by_test_id("disc-recorded")).to_be_visible()
    screenshot(page, "discrepancy_wrong_pocket")


def test_one_too_many_ends_in_the_discrepancy_screen(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "nurse1")
    start_dose(page)
    open_take_close(ward, 0, {0: 3})
    expect(page.get_by_test_id("discrepancy")).to_be_visible()
    expect(page.get_by_test_id("disc-cause")).to_contain_text("Trop")
    screenshot(page, "discrepancy_too_many")


def test_override_with_search_reason_and_prescriber(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "nurse1")
    page.get_by_test_id("patient-IPP002").click()
    page.get_by_test_id("override").click()
    for letter in "FURO":
        page.get_by_test_id(f"kbd-{letter}").click()
    expect(page.get_by_test_id("match-FURO40")).to_have_count(0)  # 4 letters: not yet
    page.get_by_test_id("kbd-S").click()
    page.get_by_test_id("match-FURO40").click()
    page.get_by_test_id("reason-emergency").click()
    page.get_by_test_id("override-field-prescriber").click()
    for letter in "HOUSE":
        page.get_by_test_id(f"kbd-{letter}").click()
    page.get_by_test_id("override-confirm").click()
    expect(page.get_by_test_id("pocket-1-2-target")).to_be_visible()
    page.get_by_test_id("task-confirm").click()
    open_take_close(ward, 1, {2: 1})
    expect(page.get_by_test_id("committed")).to_be_visible()
    screenshot(page, "override_committed")
    # The pharmacist reviews it at the same screen.
    page.get_by_test_id("signout").click()
    sign_in(page, ward, "pharm1")
    page.get_by_test_id("tab-overrides").click()
    review = page.locator("[data-testid^=review-]")
    expect(review).to_contain_text("FUROsemide")
    expect(review).to_contain_text("Urgence vitale")
    page.locator("[data-testid^=reviewed-]").click()
    expect(page.get_by_test_id("reviews-none")).to_be_visible()
    screenshot(page, "override_reviewed")


def test_controlled_waste_with_a_witness(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "nurse1")
    page.get_by_test_id("tab-waste").click()
    page.get_by_test_id("waste-item-MORPH10").click()
    page.get_by_test_id("waste-qty-1").click()
    page.get_by_test_id("waste-start").click()
    expect(page.get_by_test_id("witness")).to_be_visible()
    page.get_by_test_id("witness-nurse2").click()
    expect(page.get_by_test_id("witness-read")).to_be_visible()
    press_pin(page, PINS["nurse2"], pad="witness-pad")
    page.get_by_test_id("task-confirm").click()
    expect(page.get_by_test_id("committed")).to_be_visible()
    kinds = ward.call(
        lambda: [
            r[0]
            for r in ward.ward.store.conn.execute(
                "SELECT kind || ':' || COALESCE(witness, '') FROM ledger ORDER BY seq"
            )
        ]
    )
    assert "waste:nurse2" in kinds
    screenshot(page, "waste_witnessed")


def test_technician_restocks_with_a_pack_scan(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "tech1")
    page.get_by_test_id("restock-0-2").click()
    expect(page.get_by_test_id("scan-pack")).to_be_visible()
    ward.call(
        ward.ward.metal.scanner.pack, "03400930000014", "LOT-NEW", dt.date(2028, 5, 31), "SN1"
    )
    expect(page.get_by_test_id("pack")).to_contain_text("LOT-NEW")
    press_pin(page, "5", pad="load-pad")
    page.get_by_test_id("task-confirm").click()
    metal = ward.ward.metal
    ward.wait(lambda: metal.released(0))
    ward.call(metal.open, 0)
    ward.wait(lambda: ward.ward.cabinet.ticket().step == "open")
    ward.call(metal.put, 0, 2, 5)
    ward.call(metal.close, 0)
    expect(page.get_by_test_id("committed")).to_be_visible()
    assert ward.call(ward.ward.stock, 0, 2) == 15
    screenshot(page, "restock_committed")


def test_five_wrong_pins_lock_the_account(page: Page, ward: WardThread) -> None:
    expect(page.get_by_test_id("scan-prompt")).to_be_visible()
    ward.call(ward.ward.metal.scanner.badge, BADGES["nurse2"])
    for attempt in range(1, 5):
        expect(page.get_by_test_id("hello")).to_be_visible()
        press_pin(page, "0000")
        expect(page.get_by_test_id("error")).to_contain_text(f"{5 - attempt} essai")
    press_pin(page, "0000")
    expect(page.get_by_test_id("error")).to_contain_text("bloqué")
    expect(page.get_by_test_id("scan-prompt")).to_be_visible()  # nothing more to type
    # Even the right PIN is refused now, and nobody is signed in.
    ward.call(ward.ward.metal.scanner.badge, BADGES["nurse2"])
    expect(page.get_by_test_id("hello")).to_be_visible()
    press_pin(page, PINS["nurse2"])
    expect(page.get_by_test_id("error")).to_contain_text("bloqué")
    expect(page.get_by_test_id("who")).to_have_count(0)
    screenshot(page, "lockout")


def test_offline_banner_when_the_central_stops(page: Page, ward: WardThread) -> None:
    sign_in(page, ward, "nurse1")
    expect(page.get_by_test_id("offline-banner")).to_have_count(0)
    ward.call(ward.ward.sync.central_stops)
    expect(page.get_by_test_id("offline-banner")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("offline-banner")).to_contain_text("Hors ligne")
    screenshot(page, "offline_banner")


def small_buttons(page: Page) -> list[str]:
    """Visible buttons smaller than a gloved finger's 44 px."""
    return page.evaluate(
        """() => [...document.querySelectorAll('button')]
            .filter((b) => b.offsetParent !== null)
            .map((b) => [b.textContent, b.getBoundingClientRect()])
            .filter(([, r]) => r.width < 44 || r.height < 44)
            .map(([text, r]) => text + ' ' + r.width + 'x' + r.height)"""
    )


def test_touch_targets_are_at_least_44_px(page: Page, ward: WardThread) -> None:
    ward.call(ward.ward.metal.scanner.badge, BADGES["nurse1"])
    expect(page.get_by_test_id("hello")).to_be_visible()
    assert small_buttons(page) == []  # the PIN pad
    press_pin(page, PINS["nurse1"])
    expect(page.get_by_test_id("patient-IPP001")).to_be_visible()
    assert small_buttons(page) == []
    page.get_by_test_id("patient-IPP001").click()
    expect(page.get_by_test_id("order-O-PARA")).to_be_visible()
    assert small_buttons(page) == []
    screenshot(page, "patient_orders")
    page.get_by_test_id("override").click()
    expect(page.get_by_test_id("kbd-A")).to_be_visible()
    assert small_buttons(page) == []  # the letter keyboard
    screenshot(page, "override_keyboard")
