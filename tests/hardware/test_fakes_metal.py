"""The shared fakes behave like the metal the design describes."""

from __future__ import annotations

import datetime as dt

import pytest

import hal
from cabinet.clock import DrivenClock
from tests.fakes import DrawerStillLocked, FakeCabinet


@pytest.fixture
def cab(clock: DrivenClock) -> FakeCabinet:
    """One drawer of three pockets; pocket 1 holds five 2.00 g vials."""
    cabinet = FakeCabinet(clock, drawers={0: 3}, settle_s=0.5)
    cabinet.load(0, 1, count=5, unit_cg=200)
    return cabinet


async def test_lock_holds_until_released_and_relocks_by_itself(
    cab: FakeCabinet, clock: DrivenClock
) -> None:
    """A locked drawer will not open; a pulse lets it open; the pulse ends on its own."""
    with pytest.raises(DrawerStillLocked):
        cab.open(0)
    await cab.board.release(0, 20_000)
    clock.advance(9.9)
    assert (await cab.board.read_status()).released[0]
    clock.advance(0.2)  # the board caps any pulse at 10 s
    assert not (await cab.board.read_status()).released[0]


async def test_force_latches_tamper_until_relock_with_all_shut(
    cab: FakeCabinet, clock: DrivenClock
) -> None:
    """Forcing a locked drawer sets tamper; a relock clears it only once the drawer is shut."""
    cab.force(0)
    status = await cab.board.read_status()
    assert status.tamper and not status.closed[0]
    await cab.board.relock_all()
    assert (await cab.board.read_status()).tamper
    cab.close(0)
    await cab.board.relock_all()
    assert not (await cab.board.read_status()).tamper


async def test_weights_settle_after_a_take(cab: FakeCabinet, clock: DrivenClock) -> None:
    """A take wobbles the cell until it settles at the new weight."""
    await cab.board.release(0, 1000)
    cab.open(0)
    cab.take(0, 1, 2)
    wobbling = (await cab.scales[0].read_all())[1]
    assert not wobbling.stable and wobbling.centigrams != 600
    clock.advance(0.5)
    settled = (await cab.scales[0].read_all())[1]
    assert settled.stable and settled.centigrams == 600
    with pytest.raises(ValueError):
        cab.take(0, 1, 4)


async def test_faults_raise_the_hal_errors(cab: FakeCabinet) -> None:
    """Each injected fault raises what a driver would, and clear() heals them."""
    cab.fail_board("down")
    with pytest.raises(hal.DeviceDown):
        await cab.board.read_status()
    cab.fail_scale(0, "nonsense")
    with pytest.raises(hal.ProtocolError):
        await cab.scales[0].read_all()
    cab.fail_cell(0, 2)
    cab.clear()
    readings = await cab.scales[0].read_all()
    assert not readings[2].fault
    cab.fail_board("timeout", times=1)
    with pytest.raises(hal.TransientHardwareError):
        await cab.board.read_status()
    assert (await cab.board.read_status()).alive


async def test_scanner_yields_scans_in_order(cab: FakeCabinet) -> None:
    """Badge, then a pack, then a port failure."""
    cab.scanner.badge("B-0042")
    cab.scanner.pack("03400933816759", "B04059A", dt.date(2028, 5, 31), "SERIAL1")
    cab.scanner.fail_port()
    assert (await cab.scanner.read()).kind is hal.ScanKind.STAFF_BADGE
    pack = (await cab.scanner.read()).meaning
    assert isinstance(pack, hal.DrugPack) and pack.cip13 == "3400933816759"
    with pytest.raises(hal.TransientHardwareError):
        await cab.scanner.read()
