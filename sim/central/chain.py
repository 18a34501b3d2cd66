"""Checking what a cabinet pushes: each event's hash, the chain, and signed checkpoints.

This is the central's own reading of the contract in proto/cabinet/v1/sync.proto: the canonical
encoding is spelled out there, so the central recomputes it without any cabinet code.
"""

from __future__ import annotations

import hashlib
import itertools
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from proto.cabinet.v1 import sync_pb2

GENESIS_HASH = "0" * 64


class Refusal(Exception):
    """A push the central refuses; `code` names the gRPC status, `seq` the faulty sequence."""

    def __init__(self, code: str, seq: int, message: str) -> None:
        """A refusal with its gRPC status name and the sequence at fault."""
        super().__init__(message)
        self.code = code
        self.seq = seq


def computed_hash(event: sync_pb2.LedgerEvent) -> str:
    """SHA-256 of the event's canonical JSON array, as the contract defines it."""
    # An unset optional field is JSON null, a set one its value (even "" or 0).
    ordered = [
        event.seq,
        event.at,
        event.kind,
        event.actor if event.HasField("actor") else None,
        event.witness if event.HasField("witness") else None,
        event.patient_id if event.HasField("patient_id") else None,
        event.order_id if event.HasField("order_id") else None,
        event.item_code if event.HasField("item_code") else None,
        event.drawer if event.HasField("drawer") else None,
        event.pocket if event.HasField("pocket") else None,
        event.lot if event.HasField("lot") else None,
        event.quantity,
        event.payload,
        event.prev_hash,
    ]
    encoded = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def checkpoint_message(seq: int, event_hash: str) -> bytes:
    """The bytes a cabinet's checkpoint signature covers."""
    return f"cabinet-ledger-checkpoint/v1\n{seq}\n{event_hash}".encode("ascii")


def load_public_key(pem: str) -> Ed25519PublicKey:
    """Parse a cabinet's PEM public key; refuse anything but Ed25519."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return key


def check_new_events(
    events: list[sync_pb2.LedgerEvent], head_seq: int, head_hash: str
) -> list[sync_pb2.LedgerEvent]:
    """Verify the events that extend the chain past (head_seq, head_hash); return them.

    The caller has already compared events at or below head_seq with what it stores.
    """
    fresh = [e for e in events if e.seq > head_seq]
    expected_seq, prev = head_seq + 1, head_hash
    for event in fresh:
        if event.seq != expected_seq:
            raise Refusal(
                "FAILED_PRECONDITION",
                expected_seq,
                f"gap in the ledger: event {expected_seq} is missing (got {event.seq})",
            )
        if event.prev_hash != prev:
            raise Refusal(
                "DATA_LOSS",
                event.seq,
                f"event {event.seq} does not follow event {event.seq - 1}: previous hash differs",
            )
        if computed_hash(event) != event.hash:
            raise Refusal(
                "DATA_LOSS",
                event.seq,
                f"event {event.seq} was altered: its hash does not match its content",
            )
        expected_seq, prev = event.seq + 1, event.hash
    return fresh


def check_order(events: list[sync_pb2.LedgerEvent]) -> None:
    """Events of one push must be consecutive and increasing."""
    for before, after in itertools.pairwise(events):
        if after.seq != before.seq + 1:
            raise Refusal(
                "FAILED_PRECONDITION",
                before.seq + 1,
                f"gap in the ledger: event {before.seq + 1} is missing (got {after.seq})",
            )


def check_checkpoint(key: Ed25519PublicKey, cp: sync_pb2.Checkpoint, stored_hash: str) -> None:
    """A checkpoint must name the event's real hash and carry the cabinet's signature."""
    if cp.hash != stored_hash:
        raise Refusal(
            "DATA_LOSS", cp.seq, f"checkpoint {cp.seq} does not match event {cp.seq}'s hash"
        )
    try:
        key.verify(cp.signature, checkpoint_message(cp.seq, cp.hash))
    except InvalidSignature as exc:
        raise Refusal(
            "DATA_LOSS", cp.seq, f"checkpoint {cp.seq}: signature is not the cabinet's"
        ) from exc
