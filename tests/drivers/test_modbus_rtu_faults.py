"""The Modbus drivers on a pty when the wire misbehaves: silence, bad CRCs, late answers."""

from __future__ import annotations

import asyncio

import pytest

from drivers.modbus import HX711_PROFILE, ModbusLockBoard, ModbusScaleBank
from hal import DeviceDown, ProtocolError, TransientHardwareError
from tests.drivers.rtu_script import HX_STATUS, HX_WEIGHT, RtuScript, frame, link_on


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
