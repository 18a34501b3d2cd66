"""The real Modbus drivers on a pty, byte for byte: requests they send, answers they read."""

from __future__ import annotations

import pytest

from drivers.modbus import (
    CABINET_PROFILE,
    HX711_NET_PROFILE,
    HX711_PROFILE,
    ModbusLockBoard,
    ModbusScaleBank,
)
from tests.drivers.rtu_script import HX_NET, HX_STATUS, HX_WEIGHT, RtuScript, crc16, frame, link_on


def test_issue_frames_carry_valid_crcs() -> None:
    """The CRC helper agrees with the literal frames, so frames built with it are literal too."""
    for text in (*HX_STATUS, *HX_WEIGHT, *HX_NET):
        raw = frame(text)
        assert crc16(raw[:-2]) == raw[-2:]


async def test_hx711_gross_weight_from_the_issue_frames(script: RtuScript) -> None:
    """Status 0x0802 (2 decimals, bit 5 clear) and raw 132 in grams read as 1.32 g, stable."""
    script.expect(*HX_STATUS)
    script.expect(*HX_WEIGHT)
    bank = ModbusScaleBank(link_on(script), drawer=6, pocket_count=1, unit=1, profile=HX711_PROFILE)
    try:
        (reading,) = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert (reading.drawer, reading.pocket, reading.centigrams) == (6, 0, 132)
    assert reading.stable and reading.trustworthy


async def test_hx711_net_weight_is_signed(script: RtuScript) -> None:
    """Net 0xFFFFC1EF is -15889 raw, -158.89 g, -15889 centigrams."""
    script.expect(*HX_STATUS)
    script.expect(*HX_NET)
    bank = ModbusScaleBank(
        link_on(script), drawer=0, pocket_count=1, unit=1, profile=HX711_NET_PROFILE
    )
    try:
        (reading,) = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert reading.centigrams == -15889


async def test_hx711_moving_weight_is_not_stable(script: RtuScript) -> None:
    """Bit 5 set means the weight is moving: the reading is not trustworthy."""
    script.expect("01 03 00 08 00 01 05 C8", "01 03 02 08 22 3F 9D")
    script.expect(*HX_WEIGHT)
    bank = ModbusScaleBank(link_on(script), drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE)
    try:
        (reading,) = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert not reading.stable and not reading.trustworthy


async def test_cabinet_profile_reads_a_drawer_in_two_requests(script: RtuScript) -> None:
    """One read of every status (FC04 0x0100) and one of every weight (FC04 0x0000)."""
    script.expect("0A 04 01 00 00 02 71 4C", "0A 04 04 00 01 00 02 91 45")
    script.expect("0A 04 00 00 00 04 F0 B2", "0A 04 08 00 00 30 39 FF FF FF 9C D9 61")
    bank = ModbusScaleBank(
        link_on(script), drawer=0, pocket_count=2, unit=10, profile=CABINET_PROFILE
    )
    try:
        first, second = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert (first.centigrams, first.stable, first.overload) == (12345, True, False)
    assert (second.centigrams, second.stable, second.overload) == (-100, False, True)


async def test_cabinet_profile_tare_writes_one(script: RtuScript) -> None:
    """Tare of pocket 1 writes 1 to holding register 0x0201 (FC06, echoed)."""
    script.expect("0A 06 02 01 00 01 19 09", "0A 06 02 01 00 01 19 09")
    bank = ModbusScaleBank(
        link_on(script), drawer=0, pocket_count=2, unit=10, profile=CABINET_PROFILE
    )
    try:
        await bank.tare(1)
        with pytest.raises(ValueError):
            await bank.tare(2)
    finally:
        await bank.close()
    assert script.done, script.mismatches


async def test_lock_board_status_in_four_requests(script: RtuScript) -> None:
    """Status and firmware, closed sensors, bolts and lock mirror, literally."""
    script.expect("01 04 00 00 00 02 71 CB", "01 04 04 00 03 00 0C 0B 81")
    script.expect("01 02 00 00 00 03 38 0B", "01 02 01 05 61 8B")
    script.expect("01 02 01 00 00 03 39 F7", "01 02 01 05 61 8B")
    script.expect("01 01 00 00 00 03 7C 0B", "01 01 01 02 D0 49")
    board = ModbusLockBoard(link_on(script), drawer_count=3)
    try:
        status = await board.read_status()
    finally:
        await board.close()
    assert script.done, script.mismatches
    assert status.alive and status.tamper and not status.power_fault
    assert status.firmware == 12
    assert status.closed == (True, False, True)
    assert status.bolt_engaged == (True, False, True)
    assert status.released == (False, True, False)


async def test_lock_board_release_relock_and_guide_light(script: RtuScript) -> None:
    """Release writes 0x0100 + d, capped at 10,000 ms; relock writes 0xA5A5 at 0; lights FC05."""
    script.expect("01 06 01 03 1F 40 71 F6", "01 06 01 03 1F 40 71 F6")
    script.expect("01 06 01 03 27 10 62 0A", "01 06 01 03 27 10 62 0A")
    script.expect("01 06 00 00 A5 A5 32 E1", "01 06 00 00 A5 A5 32 E1")
    script.expect("01 05 10 22 FF 00 28 F0", "01 05 10 22 FF 00 28 F0")
    board = ModbusLockBoard(link_on(script), drawer_count=4)
    try:
        await board.release(3, 8000)
        await board.release(3, 20_000)
        await board.relock_all()
        await board.set_guide_light(1, 2, True)
        for bad_drawer, ms in ((4, 1000), (-1, 1000), (0, 0)):
            with pytest.raises(ValueError):
                await board.release(bad_drawer, ms)
    finally:
        await board.close()
    assert script.done, script.mismatches
    assert len(script.received) == 4  # the refused releases sent nothing
