"""The real Modbus drivers on a pty, byte for byte: requests they send, answers they read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.modbus import (
    CABINET_PROFILE,
    HX711_NET_PROFILE,
    HX711_PROFILE,
    ModbusLink,
    ModbusLockBoard,
    ModbusScaleBank,
)
from hal import DeviceDown, ProtocolError, TransientHardwareError
from tests.drivers.rtu_script import RtuScript, crc16, frame, rtu_pty

# The transmitter frames of the issue: (request, answer).
HX_STATUS = ("01 03 00 08 00 01 05 C8", "01 03 02 08 02 3E 45")  # 2 decimals, stable
HX_WEIGHT = ("01 03 00 50 00 02 C4 1A", "01 03 04 00 00 00 84 FA 50")  # 132
HX_NET = ("01 03 00 52 00 02 65 DA", "01 03 04 FF FF C1 EF EA 0B")  # -15889


@pytest.fixture
async def script() -> AsyncIterator[RtuScript]:
    """The device side of a fresh pty pair."""
    with rtu_pty() as s:
        yield s


def link_on(script: RtuScript, *, retries: int = 0, down_after: int = 3) -> ModbusLink:
    """The real RTU link on the pty, impatient so that silent devices cost little time."""
    return ModbusLink.rtu(script.path, timeout_s=0.1, retries=retries, down_after=down_after)


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


async def test_exception_response_is_a_protocol_error(script: RtuScript) -> None:
    """An exception response (illegal address) is a ProtocolError and is not retried."""
    script.expect(HX_STATUS[0], "01 83 02 C0 F1")
    bank = ModbusScaleBank(
        link_on(script, retries=2), drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE
    )
    try:
        with pytest.raises(ProtocolError, match="exception response 2"):
            await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches


async def test_wrong_length_is_a_protocol_error(script: RtuScript) -> None:
    """Two registers in answer to a read of one: refused, never half used."""
    script.expect(HX_STATUS[0], "01 03 04 00 01 00 02 2A 32")
    bank = ModbusScaleBank(link_on(script), drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE)
    try:
        with pytest.raises(ProtocolError, match="asked for 1 registers, got 2"):
            await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches


async def test_timeout_then_recovery_on_the_next_good_frame(script: RtuScript) -> None:
    """Silence is a transient error; the next exchange works as if nothing happened."""
    script.expect(HX_STATUS[0], None)
    bank = ModbusScaleBank(link_on(script), drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE)
    try:
        with pytest.raises(TransientHardwareError, match="no answer"):
            await bank.read_all()
        script.expect(*HX_STATUS)
        script.expect(*HX_WEIGHT)
        (reading,) = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert reading.centigrams == 132


async def test_corrupt_crc_is_dropped_and_the_driver_recovers(script: RtuScript) -> None:
    """An answer with a bad CRC is never decoded; the next good frame is."""
    corrupt = bytearray(frame(HX_STATUS[1]))
    corrupt[-1] ^= 0xFF
    script.expect(HX_STATUS[0], bytes(corrupt))
    bank = ModbusScaleBank(link_on(script), drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE)
    try:
        with pytest.raises(TransientHardwareError):
            await bank.read_all()
        script.expect(*HX_STATUS)
        script.expect(*HX_WEIGHT)
        (reading,) = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert reading.centigrams == 132


async def test_a_retry_hides_one_corrupt_answer(script: RtuScript) -> None:
    """With one retry, a single corrupt answer costs a resend, not an error."""
    script.expect(HX_STATUS[0], "01 03 02 08 02 3E 46")
    script.expect(*HX_STATUS)
    script.expect(*HX_WEIGHT)
    bank = ModbusScaleBank(
        link_on(script, retries=1), drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE
    )
    try:
        (reading,) = await bank.read_all()
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert reading.centigrams == 132


async def test_consecutive_failures_mark_the_device_down_until_it_answers(
    script: RtuScript,
) -> None:
    """After N failed requests: DeviceDown, one try per request (no retries), then back up."""
    link = link_on(script, retries=1, down_after=2)
    bank = ModbusScaleBank(link, drawer=0, pocket_count=1, unit=1, profile=HX711_PROFILE)
    try:
        for _ in range(2):  # first request: try and retry, both silent
            script.expect(HX_STATUS[0], None)
        with pytest.raises(TransientHardwareError) as first:
            await bank.read_all()
        assert not isinstance(first.value, DeviceDown)
        for _ in range(2):
            script.expect(HX_STATUS[0], None)
        with pytest.raises(DeviceDown):
            await bank.read_all()
        assert link.is_down(1)
        script.expect(HX_STATUS[0], None)
        with pytest.raises(DeviceDown):
            await bank.read_all()
        assert len(script.received) == 5  # down: tried once, not retried
        script.expect(*HX_STATUS)
        script.expect(*HX_WEIGHT)
        (reading,) = await bank.read_all()
        assert not link.is_down(1)
    finally:
        await bank.close()
    assert script.done, script.mismatches
    assert reading.centigrams == 132


async def test_exception_busy_is_retried(script: RtuScript) -> None:
    """Exception 6 (device busy) is worth a retry, and the retry's answer is used."""
    script.expect("01 04 00 00 00 02 71 CB", "01 84 06 C3 02")
    script.expect("01 04 00 00 00 02 71 CB", "01 04 04 00 01 00 0C AA 41")
    link = link_on(script, retries=1)
    try:
        assert await link.read_input_registers(1, 0, 2) == [1, 12]
    finally:
        await link.close()
    assert script.done, script.mismatches


async def test_a_late_answer_is_never_taken_for_the_next_one(script: RtuScript) -> None:
    """Closed sensors answer after the timeout; the bolts read that follows gets its own answer.

    Both are FC02 reads of 3 bits from unit 1: on RTU only timing tells the answers apart.
    """
    script.expect("01 02 00 00 00 03 38 0B", "01 02 01 05 61 8B", delay_s=0.15)
    # The bolts answer comes slowly too, so the late closed-sensor frame would reach it first.
    script.expect("01 02 01 00 00 03 39 F7", "01 02 01 02 20 49", delay_s=0.08)
    link = link_on(script)
    try:
        with pytest.raises(TransientHardwareError):
            await link.read_discrete_inputs(1, 0x0000, 3)
        bolts = await link.read_discrete_inputs(1, 0x0100, 3)
    finally:
        await link.close()
    assert script.done, script.mismatches
    assert bolts == [False, True, False]


async def test_answer_of_another_function_is_refused(script: RtuScript) -> None:
    """An FC04 answer to an FC03 request is a protocol error, not registers to use."""
    script.expect(HX_STATUS[0], "01 04 02 08 02 3F 31")
    link = link_on(script)
    try:
        with pytest.raises(ProtocolError, match="answer of FC04"):
            await link.read_holding_registers(1, 0x0008, 1)
    finally:
        await link.close()
    assert script.done, script.mismatches


async def test_a_release_queued_behind_silent_reads_is_still_sent(script: RtuScript) -> None:
    """Requests from concurrent tasks take turns on the bus; waiting is not a timeout."""
    script.expect(HX_STATUS[0], None)
    script.expect(HX_STATUS[0], None)
    script.expect("01 06 01 03 1F 40 71 F6", "01 06 01 03 1F 40 71 F6")
    link = link_on(script)
    board = ModbusLockBoard(link, drawer_count=4)
    try:
        reads = [asyncio.create_task(link.read_holding_registers(1, 0x0008, 1)) for _ in range(2)]
        await asyncio.sleep(0)  # the reads take the bus first
        await board.release(3, 8000)
        for read in reads:
            with pytest.raises(TransientHardwareError):
                await read
    finally:
        await board.close()
    assert script.done, script.mismatches
