"""Security of the link: only the site's valid cabinet certificates, only their own events."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from cabinet.config import CentralSection
from cabinet.errors import ConfigError
from cabinet.security import pki
from cabinet.store import open_read_only
from cabinet.sync import SyncService
from cabinet.sync.channel import open_channel
from cabinet.sync.outbox import Outbox
from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc
from tests.sync.conftest import (
    CABINET_A,
    CABINET_B,
    Cabinet,
    CentralHarness,
    cabinet_config,
    eventually,
)


def channel(
    port: int, ca: bytes, cert: bytes | None = None, key: bytes | None = None
) -> grpc.aio.Channel:
    """A raw channel to the central with whatever credentials the test holds."""
    credentials = grpc.ssl_channel_credentials(ca, key, cert)
    return grpc.aio.secure_channel(f"localhost:{port}", credentials)


def own(folder: Path, cabinet_id: str) -> tuple[bytes, bytes]:
    """A cabinet's certificate and key from the PKI folder."""
    cert, key = pki.cabinet_cert_names(cabinet_id)
    return (folder / cert).read_bytes(), (folder / key).read_bytes()


def request_for(cabinet: Cabinet, claim: str = "") -> sync_pb2.PushEventsRequest:
    """Every pending event of a cabinet with its checkpoints, as its uplink would send them."""
    reader = open_read_only(cabinet.store.path)
    try:
        outbox = Outbox(cabinet.store, reader)
        events = outbox.pending(10_000)
        checkpoints = outbox.checkpoints(0, events[-1].seq)
    finally:
        reader.close()
    return sync_pb2.PushEventsRequest(
        events=events, checkpoints=checkpoints, cabinet_id=claim,
        ledger_public_key_pem=cabinet.public_pem,
    )  # fmt: skip


async def push(ch: grpc.aio.Channel, request: sync_pb2.PushEventsRequest) -> grpc.aio.AioRpcError:
    """Push and return the refusal (the test fails if the push was accepted)."""
    stub = sync_pb2_grpc.CentralPharmacyStub(ch)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.PushEvents(request, timeout=5)
    return refused.value


@pytest.fixture
async def two_cabinets(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet]
) -> tuple[Cabinet, Cabinet]:
    """Cabinets A and B, registered, each with 250 events; the central running."""
    a, b = cabinet_factory("a"), cabinet_factory("b")
    a.fill(250)
    b.fill(250)
    central.db.register_cabinet(CABINET_A, a.public_pem)
    central.db.register_cabinet(CABINET_B, b.public_pem)
    await central.start()
    return a, b


async def test_no_certificate_other_ca_and_expired_are_refused(
    central: CentralHarness, two_cabinets: tuple[Cabinet, Cabinet], site_pki: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Without a valid site certificate the TLS handshake fails: nothing is stored."""
    a, _ = two_cabinets
    ca = (site_pki / pki.CA_CERT).read_bytes()
    other = tmp_path / "other-site"
    pki.init_site(other, [CABINET_A])  # same cabinet name, another hospital's CA
    expired = pki.issue(
        pki.Issued(cert_pem=ca, key_pem=(site_pki / pki.CA_KEY).read_bytes()),
        CABINET_A,
        client=True,
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
        not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )
    attempts = {
        "no certificate": channel(central.port, ca),
        "another CA": channel(central.port, ca, *own(other, CABINET_A)),
        "expired": channel(central.port, ca, expired.cert_pem, expired.key_pem),
    }
    for what, ch in attempts.items():
        async with ch:
            error = await push(ch, request_for(a))
            assert error.code() == grpc.StatusCode.UNAVAILABLE, what
    assert central.db.head(CABINET_A)[0] == 0


async def test_cabinet_a_cannot_push_for_cabinet_b(
    central: CentralHarness, two_cabinets: tuple[Cabinet, Cabinet], site_pki: Path
) -> None:
    """A's certificate claiming B is denied; B's ledger under A's name fails A's key."""
    _, b = two_cabinets
    ca = (site_pki / pki.CA_CERT).read_bytes()
    async with channel(central.port, ca, *own(site_pki, CABINET_A)) as ch:
        error = await push(ch, request_for(b, claim=CABINET_B))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "CAB-A" in (error.details() or "") and "CAB-B" in (error.details() or "")
        error = await push(ch, request_for(b))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "differs from the registered" in (error.details() or "")
        smuggled = request_for(b)
        smuggled.ledger_public_key_pem = ""
        error = await push(ch, smuggled)
        assert error.code() == grpc.StatusCode.DATA_LOSS
        assert "checkpoint 100: signature is not the cabinet's" in (error.details() or "")
    assert central.db.head(CABINET_A)[0] == 0 and central.db.head(CABINET_B)[0] == 0


async def test_edited_or_missing_event_is_refused_with_its_sequence(
    central: CentralHarness, two_cabinets: tuple[Cabinet, Cabinet], site_pki: Path
) -> None:
    """An altered event, a broken link or a hole is refused, naming the sequence; nothing kept."""
    a, _ = two_cabinets
    ca = (site_pki / pki.CA_CERT).read_bytes()
    async with channel(central.port, ca, *own(site_pki, CABINET_A)) as ch:
        edited = request_for(a)
        edited.events[136].quantity = -5  # event 137: "one more dose taken" after the fact
        error = await push(ch, edited)
        assert error.code() == grpc.StatusCode.DATA_LOSS
        assert "event 137 was altered" in (error.details() or "")
        assert ("bad-seq", "137") in tuple(error.trailing_metadata() or ())
        missing = request_for(a)
        del missing.events[41]  # event 42 vanished
        error = await push(ch, missing)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "event 42 is missing" in (error.details() or "")
        rehashed = request_for(a)
        rehashed.events[199].quantity = 3
        rehashed.events[199].hash = "f" * 64  # a consistent forgery would need the key
        error = await push(ch, rehashed)
        assert error.code() == grpc.StatusCode.DATA_LOSS
        assert "200" in (error.details() or "")
        assert central.db.head(CABINET_A)[0] == 0
        good = request_for(a)
        stub = sync_pb2_grpc.CentralPharmacyStub(ch)
        answer = await stub.PushEvents(good, timeout=5)
        assert answer.highest_contiguous_seq == 250 and answer.highest_checkpoint_seq == 200
        where = await stub.GetCursor(sync_pb2.GetCursorRequest(), timeout=5)
        assert where.highest_contiguous_seq == 250 and where.last_hash == good.events[-1].hash
        # Resending is harmless; resending with a changed past event is not.
        assert (await stub.PushEvents(good, timeout=5)).highest_contiguous_seq == 250
        good.events[9].payload = '{"n":999}'
        error = await push(ch, good)
        assert "event 10 differs from the event 10 already stored" in (error.details() or "")


async def test_unknown_cabinet_key_is_refused_unless_enrolment_is_on(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """No registered key: refused with the command to run; enrolment registers it once."""
    a = cabinet_factory("a")
    a.fill(10)
    await central.start()
    ca = (site_pki / pki.CA_CERT).read_bytes()
    async with channel(central.port, ca, *own(site_pki, CABINET_A)) as ch:
        error = await push(ch, request_for(a))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "register-cabinet CAB-A" in (error.details() or "")
    await central.stop()
    await central.start(enroll_on_first_contact=True)
    async with channel(central.port, ca, *own(site_pki, CABINET_A)) as ch:
        stub = sync_pb2_grpc.CentralPharmacyStub(ch)
        assert (await stub.PushEvents(request_for(a), timeout=5)).highest_contiguous_seq == 10
    assert central.db.cabinet_key(CABINET_A) == a.public_pem


def test_insecure_channel_is_refused_in_production() -> None:
    """The development shortcut never opens in a production configuration."""
    section = CentralSection(insecure_development=True)
    with pytest.raises(ConfigError, match="production"):
        open_channel(section, production=True)


async def test_a_refused_ledger_raises_one_alarm_that_the_heartbeat_carries(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """Signed with a key the central does not know for it: refused, alarmed once, reported."""
    cabinet, impostor = cabinet_factory("a"), cabinet_factory("other")
    cabinet.fill(250)
    central.db.register_cabinet(CABINET_A, impostor.public_pem)
    await central.start()
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, cabinet.clock
    )
    await service.start()

    def reported() -> list[str]:
        beat = central.db.heartbeat(CABINET_A)
        if beat is None:
            return []
        return [a.kind for a in sync_pb2.HeartbeatRequest.FromString(beat[1]).open_alarms]

    try:
        await eventually(lambda: "sync_refused" in reported(), 10, "the alarm at the central")
        await asyncio.sleep(0.5)  # several more refused attempts
    finally:
        await service.stop()
    state = service.state()
    assert state.online and state.last_error.startswith("DATA_LOSS")
    assert "checkpoint 100" in state.last_error
    rows = cabinet.store.conn.execute(
        "SELECT severity, message FROM alarms WHERE kind = 'sync_refused'"
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] == "critical"
    assert cabinet.pending() == 251  # nothing acknowledged; the alarm itself waits too
    assert central.db.head(CABINET_A)[0] == 0


async def test_insecure_development_link_needs_both_sides_to_ask_for_it(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """Plain TCP works only when the central and the cabinet both run in development mode."""
    cabinet = cabinet_factory()
    cabinet.fill(120)
    central.db.register_cabinet(CABINET_A, cabinet.public_pem)
    await central.start(insecure_development=True, tls_dir=None)
    mtls = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, cabinet.clock
    )
    await mtls.start()
    try:
        await eventually(lambda: mtls.status.failures["UNAVAILABLE"] >= 2, 10, "TLS to fail")
        assert cabinet.pending() == 120
    finally:
        await mtls.stop()
    plain = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port, insecure_development=True),
        cabinet.store,
        cabinet.clock,
    )
    await plain.start()
    try:
        await eventually(lambda: cabinet.pending() == 0, 10, "the plain drain")
    finally:
        await plain.stop()
    assert central.db.events(CABINET_A) == cabinet.hashes()
