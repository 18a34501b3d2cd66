"""Exactly once, in order: the outbox survives a central that is down, dies, stalls or lies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cabinet.store import NewEvent
from cabinet.sync import SyncService
from sim.central.db import CentralDb
from tests.sync.conftest import CABINET_A, Cabinet, CentralHarness, cabinet_config, eventually


async def test_small_ledger_drains_and_acks_in_order(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """A cabinet's 1,234 events reach the central once each, in order; the outbox empties."""
    cabinet = cabinet_factory()
    cabinet.fill(1234)
    central.db.register_cabinet(CABINET_A, cabinet.public_pem)
    await central.start()
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, cabinet.clock
    )
    await service.start()
    try:
        await eventually(lambda: cabinet.pending() == 0, 20, "the outbox to drain")
    finally:
        await service.stop()
    assert central.db.events(CABINET_A) == cabinet.hashes()
    assert central.db.head(CABINET_A)[2] == 1200  # the last checkpoint, verified
    state = service.state()
    assert state.online and state.outbox_depth == 0 and state.last_acked_seq == 1234


@pytest.mark.slow
async def test_ten_thousand_events_through_every_central_fault(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """Stopped at start, killed mid-batch, restarted, slowed past the deadline, answer lost."""
    cabinet = cabinet_factory()
    cabinet.fill(10_000)
    central.db.register_cabinet(CABINET_A, cabinet.public_pem)
    await central.start()
    await central.stop()  # the port is now known, and nobody listens on it
    config = cabinet_config(cabinet.state, site_pki, central.port, deadline_s=0.5, batch_size=400)
    service = SyncService(config, cabinet.store, cabinet.clock)
    await service.start()
    try:
        # 1. Central stopped at start: the worker retries, nothing is acknowledged.
        await eventually(lambda: bool(service.state().last_error), 5, "a failed first push")
        assert not service.state().online and cabinet.pending() == 10_000
        # 2. Killed in the middle of a batch: 150 of the next 400 events are stored.
        central.faults.crash_after_events = 150
        running = await central.start()
        await eventually(running.crashed.is_set, 10, "the mid-batch crash")
        await central.stop()
        stored = central.db.head(CABINET_A)[0]
        assert stored == 150 and cabinet.pending() == 10_000  # stored, but never answered
        # 3. Restarted; 4. slowed beyond the deadline; 5. applies a batch and drops the answer.
        central.faults.delay_s, central.faults.delay_calls = 1.5, 1
        central.faults.drop_answers = 1
        running = await central.start()
        await eventually(lambda: cabinet.pending() == 0, 60, "the outbox to drain")
        assert running.service.faults.drop_answers == 0 and central.faults.delay_s == 0
        # The cabinet really met each fault: refused connections, a deadline, a lost answer.
        assert service.status.failures["DEADLINE_EXCEEDED"] >= 1
        assert service.status.failures["UNAVAILABLE"] >= 3
    finally:
        await service.stop()
    # Each event once, in sequence, identical to the cabinet's own.
    assert central.db.events(CABINET_A) == cabinet.hashes()
    assert [seq for seq, _ in central.db.events(CABINET_A)] == list(range(1, 10_001))
    assert central.db.head(CABINET_A)[2] == 10_000


async def test_central_that_lost_its_data_gets_everything_again(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A central restored empty asks for event 1 again; the cabinet resends from there."""
    cabinet = cabinet_factory()
    cabinet.fill(300)
    await central.start(enroll_on_first_contact=True)
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port),
        cabinet.store,
        cabinet.clock,
        public_key_pem=cabinet.public_pem,
    )
    await service.start()
    try:
        await eventually(lambda: cabinet.pending() == 0, 10, "the first drain")
        await central.stop()
        central.db.close()
        central.db = CentralDb(tmp_path / "restored-empty.db")
        await central.start(enroll_on_first_contact=True)
        cabinet.store.record(NewEvent(kind="test_event", actor="IDE-001"))
        # 300 + the new event + the alarm that says the central had lost them.
        await eventually(lambda: cabinet.pending() == 0, 10, "the outbox to empty again")
        assert len(central.db.events(CABINET_A)) == 302
    finally:
        await service.stop()
    assert central.db.events(CABINET_A) == cabinet.hashes()
    alarm = cabinet.store.conn.execute(
        "SELECT severity FROM alarms WHERE kind = 'sync_refused'"
    ).fetchone()
    assert alarm == ("warning",)
