"""The kiosk on the real thing: the daemon, the hardware simulator over Modbus TCP and a pty
scanner, and the simulated central over mutual TLS, each its own process. A nurse at chromium;
the simulator's technician console plays her hands. Each test keeps its final screen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.ui.browser import SCREEN, press_pin, screenshot
from tests.ui.stack import Stack

# One worker runs the whole module: its browser (and stack) start once.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("ui-stack")]
MARTIN, BERNARD, HADDAD = "8001234567", "8001234568", "8001234569"
PARA_500 = "3400893678534"  # drawer 0, pocket 0 in the demo plan


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Central, simulator and daemon for the whole module, stopped whatever happens."""
    s = Stack(Path(tmp_path_factory.mktemp("stack")))
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A fresh kiosk page; whoever signed in is signed out afterwards."""
    context = browser.new_context(viewport=SCREEN)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(stack.url)
    try:
        yield pg
    finally:
        if pg.get_by_test_id("signout").count():
            pg.get_by_test_id("signout").click()
            # Wait for the sign-out to land: closing the page could cancel the request.
            expect(pg.get_by_test_id("scan-prompt")).to_be_visible()
        context.close()


def nurse_signs_in(page: Page, stack: Stack) -> None:
    """Marie DUBOIS's badge at the reader (through the simulator's pty), her PIN on the pad."""
    stack.sim("badge BADGE-1001")
    expect(page.get_by_test_id("hello")).to_contain_text("Marie DUBOIS")
    press_pin(page, "1234")
    expect(page.get_by_test_id("who")).to_contain_text("Marie DUBOIS")


def open_order(page: Page, patient: str, order: str) -> None:
    """Open the patient until the order synced from the central shows (within seconds)."""
    deadline = time.monotonic() + 20
    while True:
        page.get_by_test_id(f"patient-{patient}").click()
        try:
            expect(page.get_by_test_id(f"dispense-{order}")).to_be_enabled(timeout=2_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.get_by_test_id("back").click()


def take_and_close(
    stack: Stack, pocket: int, count: int, verb: str = "take", drawer: int = 0
) -> None:
    """Pull the drawer once its lock is released, take from (or put into) a pocket, shut it."""
    deadline = time.monotonic() + 10
    while True:
        try:
            stack.sim(f"open {drawer}")
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    stack.sim(f"{verb} {drawer} {pocket} {count}")
    time.sleep(0.3)
    stack.sim(f"close {drawer}")


def dispense(page: Page, stack: Stack, patient: str, order: str, pocket: int, count: int) -> None:
    """Sign in, choose the dose, unlock, and let the simulator's hands do the rest."""
    nurse_signs_in(page, stack)
    stack.add_order_due_now(order, patient, PARA_500, 2)
    open_order(page, patient, order)
    page.get_by_test_id(f"dispense-{order}").click()
    expect(page.get_by_test_id("pocket-0-0-target")).to_be_visible()
    page.get_by_test_id("task-confirm").click()
    take_and_close(stack, pocket, count)


def test_stack_scheduled_dose_right_count_right_pocket_commits(page: Page, stack: Stack) -> None:
    dispense(page, stack, HADDAD, "ORD-UI-1", pocket=0, count=2)
    expect(page.get_by_test_id("committed")).to_be_visible()
    expect(page.get_by_test_id("committed")).to_contain_text("2 unité")
    screenshot(page, "stack_dispense_committed")


def test_stack_wrong_pocket_ends_in_the_discrepancy_screen(page: Page, stack: Stack) -> None:
    dispense(page, stack, MARTIN, "ORD-UI-2", pocket=1, count=2)
    expect(page.get_by_test_id("discrepancy")).to_be_visible()
    expect(page.get_by_test_id("discrepancy")).to_be_visible()
    expect(page.get_by_text("Mauvais casier")).to_be_visible()
    screenshot(page, "stack_discrepancy_wrong_pocket")


def test_stack_one_too_many_ends_in_the_discrepancy_screen(page: Page, stack: Stack) -> None:
    dispense(page, stack, BERNARD, "ORD-UI-3", pocket=0, count=3)
    expect(page.get_by_test_id("discrepancy")).to_be_visible()
    expect(page.get_by_text("Trop d'unités prises")).to_be_visible()
    screenshot(page, "stack_discrepancy_too_many")


def test_stack_override_of_an_emergency_item(page: Page, stack: Stack) -> None:
    nurse_signs_in(page, stack)
    page.get_by_test_id(f"patient-{MARTIN}").click()
    page.get_by_test_id("override").click()
    for letter in "NALOX":
        page.get_by_test_id(f"kbd-{letter}").click()
    page.get_by_test_id("match-3400898107565").click()  # NALOXONE, drawer 4 pocket 0
    page.get_by_test_id("reason-emergency").click()
    page.get_by_test_id("override-field-prescriber").click()
    for letter in "MOREAU":
        page.get_by_test_id(f"kbd-{letter}").click()
    page.get_by_test_id("override-confirm").click()
    expect(page.get_by_test_id("pocket-4-0-target")).to_be_visible()
    page.get_by_test_id("task-confirm").click()
    take_and_close(stack, 0, 1, drawer=4)
    expect(page.get_by_test_id("committed")).to_contain_text("1 unité")
    screenshot(page, "stack_override_committed")


def test_stack_controlled_waste_with_a_witness(page: Page, stack: Stack) -> None:
    nurse_signs_in(page, stack)
    page.get_by_test_id("tab-waste").click()
    page.get_by_test_id("waste-item-3400899811683").click()  # MORPHINE chlorhydrate
    page.get_by_test_id("waste-qty-1").click()
    page.get_by_test_id("waste-start").click()
    expect(page.get_by_test_id("witness")).to_be_visible()
    # The pharmacist witnesses with her badge at the cabinet's reader, then her PIN.
    stack.sim("badge BADGE-2001")
    expect(page.get_by_test_id("witness-read")).to_be_visible()
    press_pin(page, "3456", pad="witness-pad")
    page.get_by_test_id("task-confirm").click()
    expect(page.get_by_test_id("committed")).to_be_visible()
    screenshot(page, "stack_waste_witnessed")


def test_stack_technician_restocks_with_a_pack_scan(page: Page, stack: Stack) -> None:
    expect(page.get_by_test_id("scan-prompt")).to_be_visible()
    stack.sim("badge BADGE-3001")
    press_pin(page, "4567")
    page.get_by_test_id("restock-0-2").click()  # IBUPROFÈNE 400 mg
    expect(page.get_by_test_id("scan-pack")).to_be_visible()
    # A real GS1 DataMatrix read through the simulator's pty, parsed by the daemon's reader.
    stack.sim("scan-pack 03400938338201 LOTUI1 2028-12-31 SN0001")
    expect(page.get_by_test_id("pack")).to_contain_text("LOTUI1")
    press_pin(page, "4", pad="load-pad")
    page.get_by_test_id("task-confirm").click()
    take_and_close(stack, 2, 4, verb="put")
    expect(page.get_by_test_id("committed")).to_contain_text("4 unité")
    screenshot(page, "stack_restock_committed")


def test_stack_five_wrong_pins_lock_the_account(page: Page, stack: Stack) -> None:
    expect(page.get_by_test_id("scan-prompt")).to_be_visible()
    stack.sim("badge BADGE-1002")
    expect(page.get_by_test_id("hello")).to_contain_text("Karim BENALI")
    for attempt in range(1, 5):
        press_pin(page, "0000")
        expect(page.get_by_test_id("error")).to_contain_text(f"{5 - attempt} essai")
    press_pin(page, "0000")
    # Under load the fifth PIN's hashing can take a while: give the answer time to come.
    expect(page.get_by_test_id("error")).to_contain_text("bloqué", timeout=20_000)
    expect(page.get_by_test_id("scan-prompt")).to_be_visible()  # nothing more to type
    stack.sim("badge BADGE-1002")
    press_pin(page, "2345")  # the right PIN, too late
    expect(page.get_by_test_id("error")).to_contain_text("bloqué", timeout=20_000)
    expect(page.get_by_test_id("who")).to_have_count(0)
    screenshot(page, "stack_lockout")


def test_stack_offline_banner_when_the_central_stops(page: Page, stack: Stack) -> None:
    nurse_signs_in(page, stack)
    expect(page.get_by_test_id("offline-banner")).to_have_count(0)
    stack.part("simulated central").stop()
    expect(page.get_by_test_id("offline-banner")).to_be_visible(timeout=40_000)
    expect(page.get_by_test_id("offline-banner")).to_contain_text("Hors ligne")
    screenshot(page, "stack_offline_banner")
