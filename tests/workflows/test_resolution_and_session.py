"""Discrepancy resolution by a pharmacist (witness for controlled items), and session rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.workflows.core import Settings
from tests.workflows.world import World, check_invariants


async def test_controlled_too_many_resolved_with_witness(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    await world.cab.start_dispense("O-MORPH")
    await world.cab.enter_blind_count(10)
    await world.cab.confirm()
    await world.open_take_close(0, takes={1: 2})
    [found] = world.cab.discrepancies()
    assert (found.cause, found.expected, found.counted, found.controlled) == (
        "too_many",
        -1,
        -2,
        True,
    )
    # The nurse cannot resolve; the pharmacist needs a witness for a controlled item.
    with pytest.raises(Refused) as caught:
        await world.cab.resolve_discrepancy(found.discrepancy_id, "dropped one")
    assert caught.value.code is RefusalCode.NOT_AUTHORISED
    await world.cab.sign_out()
    await world.sign_in("pharm1")
    with pytest.raises(Refused) as caught:
        await world.cab.resolve_discrepancy(found.discrepancy_id, "dropped one")
    assert caught.value.code is RefusalCode.WITNESS_REQUIRED
    with pytest.raises(Refused):
        await world.cab.resolve_discrepancy(found.discrepancy_id, "   ")
    await world.cab.witness_sign_in("2222", user_id="nurse2")
    seq = await world.cab.resolve_discrepancy(found.discrepancy_id, "dropped one, destroyed")
    # The record follows what the weights showed: two units left the pocket.
    assert world.stock(0, 1) == 8 == world.metal.count(0, 1)
    row = world.store.conn.execute(
        "SELECT kind, actor, witness, quantity FROM ledger WHERE seq = ?", (seq,)
    ).fetchone()
    assert row == ("count_correction", "pharm1", "nurse2", -2)
    assert world.cab.discrepancies() == []
    with pytest.raises(Refused) as caught:
        await world.cab.resolve_discrepancy(found.discrepancy_id, "again")
    assert caught.value.code is RefusalCode.ALREADY_RESOLVED
    check_invariants(world.store.conn)


async def test_inventory_count_mismatch_corrects_the_record(world: World) -> None:
    await world.sign_in("pharm1")
    await world.cab.start_count(0, 3)
    await world.cab.confirm()
    await world.open_take_close(0)
    await world.cab.enter_count(9)
    [found] = world.cab.discrepancies()
    assert (found.cause, found.expected, found.counted) == ("count_mismatch", 10, 9)
    await world.cab.resolve_discrepancy(found.discrepancy_id, "recounted: nine")
    assert world.stock(0, 3) == 9
    check_invariants(world.store.conn)


async def test_one_patient_at_a_time(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    await world.cab.start_dispense("O-PARA")
    with pytest.raises(Refused) as caught:
        await world.cab.select_patient("IPP002")
    assert caught.value.code is RefusalCode.PATIENT_ALREADY_SELECTED
    with pytest.raises(Refused) as caught:
        await world.cab.start_dispense("O-MORPH")
    assert caught.value.code is RefusalCode.TASK_IN_PROGRESS
    with pytest.raises(Refused) as caught:
        await world.cab.sign_in_pin("2222", user_id="nurse2")
    assert caught.value.code is RefusalCode.TASK_IN_PROGRESS
    await world.cab.cancel()
    await world.cab.select_patient("IPP002")
    with pytest.raises(Refused) as caught:
        await world.cab.start_dispense("O-PARA")
    assert caught.value.code is RefusalCode.WRONG_PATIENT


async def test_sign_out_when_the_drawer_closes_if_configured(tmp_path: Path) -> None:
    w = World(tmp_path, settings=Settings(sign_out_on_close=True, settle_timeout_s=5.0))
    try:
        await w.start()
        await w.sign_in("nurse1")
        await w.cab.select_patient("IPP001")
        await w.cab.start_dispense("O-PARA")
        await w.cab.confirm()
        await w.open_take_close(0, takes={0: 2})
        await w.until(lambda: w.cab.session() is None)
        assert w.kinds()[-2:] == ["dispense", "sign_out"]
    finally:
        await w.stop()


async def test_badge_codes_never_reach_the_ledger(world: World) -> None:
    await world.cab.sign_in_badge("B-NURSE1")
    await world.cab.sign_in_pin("1111")
    rows = world.store.conn.execute("SELECT kind, actor, payload FROM ledger").fetchall()
    text = " ".join(str(r) for r in rows)
    assert "B-NURSE1" not in text and "1111" not in text and ("sign_in", "nurse1", "{}") in rows


async def test_alarms_raised_before_the_workflows_listen_are_recorded(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.metal.force(1)  # pulled open while the daemon was down: the board latched tamper
    try:
        await w.start()
        kinds = {a.kind for a in w.cab.alarms()}
        assert "tamper" in kinds
        assert (
            w.store.conn.execute("SELECT COUNT(*) FROM ledger WHERE kind = 'alarm'").fetchone()[0]
            >= 1
        )
        await w.sign_in("nurse1")
        await w.cab.select_patient("IPP001")
        await w.cab.start_dispense("O-PARA")
        with pytest.raises(Refused) as caught:
            await w.cab.confirm()
        assert caught.value.code is RefusalCode.HARDWARE_UNAVAILABLE
    finally:
        await w.stop()


async def test_scanner_badge_then_pin_and_garbage_keeps_reading(tmp_path: Path) -> None:
    from cabinet.workflows.api import Cabinet
    from cabinet.workflows.events import RefusedEvent, ScanRead
    from tests.fakes.hardware import FakeBarcodeReader

    w = World(tmp_path)
    reader = FakeBarcodeReader(w.clock)
    try:
        await w.start()
        assert w.coordinator is not None
        await w.cab.stop()
        w.cabinet = Cabinet(w.store, w.coordinator, w.clock, w.settings, tick_s=0.05,
                            scanner=reader)  # fmt: skip
        events = w.cab.subscribe()
        await w.cab.start()
        reader.garbage("%%%", "not a code we accept")
        reader.badge("B-NURSE1")
        await w.until(lambda: w.cab.core.pending_badge == "nurse1")
        await w.cab.sign_in_pin("1111")
        reader.wristband("IPP002")
        await w.until(
            lambda: w.cab.session() is not None and w.cab.session().patient_id == "IPP002"
        )
        seen = []
        while not events.empty():
            seen.append(events.get_nowait())
        assert any(isinstance(e, RefusedEvent) and e.code is RefusalCode.BAD_BARCODE for e in seen)
        reads = [e for e in seen if isinstance(e, ScanRead)]
        assert [r.kind for r in reads] == ["staff_badge", "patient_wristband"]
        assert reads[0].raw == ""  # a badge code is never shown
    finally:
        await w.stop()
