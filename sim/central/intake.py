"""Storing a cabinet's pushed events: deduplicated by (cabinet, sequence), verified, durable."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from proto.cabinet.v1 import sync_pb2
from sim.central import chain
from sim.central.chain import Refusal
from sim.central.db import CentralDb, now_iso


class CrashNow(Exception):
    """Raised by the mid-batch fault after part of a batch was stored: the central dies."""


@dataclass
class Faults:
    """Faults a test or technician switches on to prove the cabinet's outbox survives them."""

    delay_s: float = 0.0  # answer this late (after storing), e.g. beyond the cabinet's deadline
    delay_calls: int = 0  # how many pushes are delayed (0: every push while delay_s > 0)
    drop_answers: int = 0  # store the next N pushes, then answer UNAVAILABLE as if lost
    crash_after_events: int | None = None  # store this many new events of a push, then die

    def take_delay(self) -> float:
        """The delay for this push, counting down a limited number of delayed pushes."""
        if self.delay_s <= 0:
            return 0.0
        if self.delay_calls > 0:
            self.delay_calls -= 1
            if self.delay_calls == 0:
                delay, self.delay_s = self.delay_s, 0.0
                return delay
        return self.delay_s


def _key(db: CentralDb, cabinet: str, offered_pem: str, enroll: bool) -> Ed25519PublicKey:
    """The cabinet's registered ledger key, enrolling it at first contact when allowed."""
    registered = db.cabinet_key(cabinet)
    if registered is None:
        if not (enroll and offered_pem):
            raise Refusal(
                "FAILED_PRECONDITION",
                0,
                f"cabinet {cabinet} has no registered ledger key: register it with "
                f"`cabinet-sim central register-cabinet {cabinet} PUBKEY_FILE`",
            )
        try:
            chain.load_public_key(offered_pem)
        except ValueError as exc:
            raise Refusal("INVALID_ARGUMENT", 0, f"ledger key offered: {exc}") from exc
        db.register_cabinet(cabinet, offered_pem)
        registered = offered_pem
    elif offered_pem and offered_pem.strip() != registered.strip():
        raise Refusal(
            "FAILED_PRECONDITION",
            0,
            f"cabinet {cabinet} offers a ledger key that differs from the registered one",
        )
    return chain.load_public_key(registered)


def ingest(
    db: CentralDb,
    cabinet: str,
    request: sync_pb2.PushEventsRequest,
    *,
    enroll: bool,
    faults: Faults,
) -> tuple[int, int]:
    """Verify and store a push; return (highest contiguous seq, highest checkpoint seq)."""
    key = _key(db, cabinet, request.ledger_public_key_pem, enroll)
    events = list(request.events)
    chain.check_order(events)
    head_seq, head_hash, head_cp = db.head(cabinet)
    already = [e for e in events if e.seq <= head_seq]
    if already:
        stored = db.stored_hashes(cabinet, already[0].seq, already[-1].seq)
        for event in already:
            if stored.get(event.seq) != event.hash or chain.computed_hash(event) != event.hash:
                raise Refusal(
                    "DATA_LOSS",
                    event.seq,
                    f"event {event.seq} differs from the event {event.seq} already stored",
                )
    fresh = chain.check_new_events(events, head_seq, head_hash)
    new_head = fresh[-1].seq if fresh else head_seq
    hashes = {e.seq: e.hash for e in fresh}
    checkpoints = [cp for cp in request.checkpoints if cp.seq > head_cp]
    for cp in checkpoints:
        if cp.seq > new_head or cp.seq == 0:
            raise Refusal(
                "FAILED_PRECONDITION",
                cp.seq,
                f"checkpoint {cp.seq} is beyond the events stored (up to {new_head})",
            )
        stored_hash = hashes.get(cp.seq)
        if stored_hash is None:
            stored_hash = db.stored_hashes(cabinet, cp.seq, cp.seq).get(cp.seq, "")
        chain.check_checkpoint(key, cp, stored_hash)
    if faults.crash_after_events is not None:
        keep = fresh[: faults.crash_after_events]
        faults.crash_after_events = None
        if keep:
            _store(db, cabinet, keep, [], keep[-1].seq, keep[-1].hash, head_cp)
        raise CrashNow(f"fault: central died after storing {len(keep)} events of a push")
    new_cp = max([head_cp, *(cp.seq for cp in checkpoints)])
    new_hash = fresh[-1].hash if fresh else head_hash
    if fresh or new_cp != head_cp:
        _store(db, cabinet, fresh, checkpoints, new_head, new_hash, new_cp)
    return new_head, new_cp


def _store(
    db: CentralDb,
    cabinet: str,
    events: list[sync_pb2.LedgerEvent],
    checkpoints: list[sync_pb2.Checkpoint],
    head_seq: int,
    head_hash: str,
    head_cp: int,
) -> None:
    """Write events, checkpoints and the new head in one durable transaction."""
    received = now_iso()
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO events (cabinet, seq, hash, kind, at, body, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (cabinet, e.seq, e.hash, e.kind, e.at, e.SerializeToString(), received)
                for e in events
            ],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO checkpoints (cabinet, seq, hash, signature) VALUES (?, ?, ?, ?)",
            [(cabinet, cp.seq, cp.hash, cp.signature) for cp in checkpoints],
        )
        conn.execute(
            "INSERT INTO heads (cabinet, seq, hash, checkpoint_seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (cabinet) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
            "checkpoint_seq = excluded.checkpoint_seq",
            (cabinet, head_seq, head_hash, head_cp),
        )
