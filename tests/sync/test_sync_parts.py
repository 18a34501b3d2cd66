"""The sync worker's small parts: backoff, link status, heartbeat content, change application."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from cabinet.clock import DrivenClock, iso
from cabinet.errors import StorageError
from cabinet.store import open_read_only
from cabinet.sync.apply import ChangeRefused, apply_batch, cursor
from cabinet.sync.backoff import Backoff
from cabinet.sync.heartbeat import build_heartbeat
from cabinet.sync.status import SyncStatus
from proto.cabinet.v1 import sync_pb2
from tests.sync.conftest import Cabinet


def test_backoff_doubles_to_its_cap_with_jitter_and_resets() -> None:
    """Each delay lies in [cap/2, cap] with cap = initial·2ⁿ bounded by the maximum."""
    low = Backoff(0.5, 4.0, rand=lambda: 0.0)
    assert [low.next() for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    high = Backoff(0.5, 4.0, rand=lambda: 0.999999)
    assert [round(high.next(), 3) for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    high.reset()
    assert round(high.next(), 3) == 0.5
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


def test_status_goes_offline_once_and_back_online(driven_clock: DrivenClock) -> None:
    """Offline since is the first failure after contact; contact clears it and the error."""
    status = SyncStatus(driven_clock)
    started = driven_clock.now()
    assert status.snapshot().offline_since == started  # offline until the first answer
    status.contact()
    driven_clock.advance(60)
    status.failure("UNAVAILABLE: connection refused")
    lost = driven_clock.now()
    driven_clock.advance(3600)
    status.failure("DEADLINE_EXCEEDED: deadline")
    state = status.snapshot()
    assert not state.online and state.offline_since == lost
    assert state.last_error.startswith("DEADLINE_EXCEEDED")
    status.contact()
    state = status.snapshot()
    assert state.online and state.offline_since is None and state.last_error == ""
    assert state.last_contact == driven_clock.now()


def test_heartbeat_reports_alarms_backlog_and_pockets_below_par(
    cabinet_factory: Callable[..., Cabinet], driven_clock: DrivenClock
) -> None:
    """What the pharmacy's dashboard needs, read from the store as it is."""
    cabinet = cabinet_factory(clock=driven_clock)
    cabinet.fill(7)
    apply_batch(cabinet.store, [_item(1), _pocket(2, 0, 3, 5, 10), _pocket(3, 0, 4, 0, 0)])
    conn = cabinet.store.conn
    conn.execute("UPDATE pockets SET quantity = 3 WHERE drawer = 0 AND pocket = 3")
    conn.execute(
        "INSERT INTO alarms (raised_at, kind, severity, message) VALUES "
        "(?, 'drawer_forced', 'critical', 'drawer 2 forced open'), "
        "(?, 'scale_down', 'warning', 'cleared already')",
        (iso(driven_clock.now()), iso(driven_clock.now())),
    )
    conn.execute("UPDATE alarms SET cleared_at = ? WHERE kind = 'scale_down'", ("x",))
    status = SyncStatus(driven_clock)
    status.failure("UNAVAILABLE")
    reader = open_read_only(cabinet.store.path)
    try:
        beat = build_heartbeat(reader, status, "CAB-A", degraded=True)
    finally:
        reader.close()
    assert beat.outbox_depth == 7 and beat.last_seq == 7 and beat.degraded
    assert [a.kind for a in beat.open_alarms] == ["drawer_forced"]
    assert [(b.drawer, b.pocket, b.quantity, b.par) for b in beat.below_par] == [(0, 3, 3, 5)]
    assert dt.datetime.fromisoformat(beat.offline_since) == driven_clock.now()


def _item(version: int, code: str = "3400893678534") -> sync_pb2.Change:
    """An item change."""
    return sync_pb2.Change(
        version=version,
        item=sync_pb2.Item(code=code, name="PARACÉTAMOL", gtins=["03400936531598"],
                           unit_weight_cg=85, tolerance_cg=25),
    )  # fmt: skip


def _pocket(version: int, drawer: int, pocket: int, par: int, maximum: int) -> sync_pb2.Change:
    """A pocket assignment of the paracetamol."""
    plan = sync_pb2.PocketAssignment(
        drawer=drawer, pocket=pocket, item_code="3400893678534", par=par, max=maximum
    )
    return sync_pb2.Change(version=version, pocket=plan)


def test_a_bad_change_refuses_the_whole_batch_and_keeps_the_cursor(
    cabinet_factory: Callable[..., Cabinet],
) -> None:
    """All of a batch or none of it; replayed versions are skipped, not applied twice."""
    cabinet = cabinet_factory()
    assert apply_batch(cabinet.store, [_item(1)]) == 1
    patient = sync_pb2.Change(
        version=2, patient=sync_pb2.Patient(ipp="8001", name="X", allergies=["iode"])
    )
    bad_order = sync_pb2.Change(
        version=3, order=sync_pb2.Order(id="O1", patient_ipp="8001", dose=1)
    )  # no kind, no status: not understood
    with pytest.raises(ChangeRefused):
        apply_batch(cabinet.store, [patient, bad_order])
    conn = cabinet.store.conn
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 0
    assert cursor(conn) == 1
    unknown_item = sync_pb2.Change(
        version=3,
        order=sync_pb2.Order(
            id="O1", patient_ipp="8001", item_code="NOPE", dose=1,
            kind=sync_pb2.ORDER_KIND_PRN, status=sync_pb2.ORDER_STATUS_ACTIVE,
        ),
    )  # fmt: skip
    with pytest.raises(StorageError):
        apply_batch(cabinet.store, [patient, unknown_item])
    assert cursor(conn) == 1
    clear_pin = sync_pb2.Change(
        version=4, user=sync_pb2.User(id="U", roles=[sync_pb2.ROLE_NURSE], pin_hash="1234")
    )
    with pytest.raises(ChangeRefused, match="hashed"):
        apply_batch(cabinet.store, [clear_pin])
    assert apply_batch(cabinet.store, [_item(1), patient]) == 2
    allergies = conn.execute("SELECT allergies FROM patients").fetchone()[0]
    assert json.loads(allergies) == ["iode"]
