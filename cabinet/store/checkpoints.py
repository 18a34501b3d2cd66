"""Signed ledger checkpoints: (sequence, hash) signed with the cabinet's Ed25519 key."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cabinet.security.keys import load_public, public_pem

# Settings key under which the store remembers the public half of the key that signs it.
PUBLIC_KEY_SETTING = "ledger_public_key"


def checkpoint_message(seq: int, event_hash: str) -> bytes:
    """The exact bytes a checkpoint signs; the central verifies the same bytes."""
    return f"cabinet-ledger-checkpoint/v1\n{seq}\n{event_hash}".encode("ascii")


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint:
    """One stored checkpoint."""

    seq: int
    hash: str
    signature: str  # hex
    at: str


class CheckpointSigner:
    """Signs checkpoints; holds the private key and never shows it."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Keep the private key for signing only."""
        self._key = private_key
        self.public_key = private_key.public_key()

    def __repr__(self) -> str:
        """Never show the key."""
        return "CheckpointSigner(<private key hidden>)"

    def sign(self, seq: int, event_hash: str) -> str:
        """The hex signature of (seq, hash)."""
        return self._key.sign(checkpoint_message(seq, event_hash)).hex()

    def public_pem(self) -> str:
        """The public key as PEM text."""
        return public_pem(self.public_key).decode("ascii")


def signature_valid(public_key: Ed25519PublicKey, cp: Checkpoint) -> bool:
    """True when the checkpoint's signature is the key's over (seq, hash)."""
    try:
        public_key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.seq, cp.hash))
    except (InvalidSignature, ValueError):
        return False
    return True


def write(conn: sqlite3.Connection, signer: CheckpointSigner, seq: int, h: str, at: str) -> None:
    """Insert a checkpoint; the caller holds the write transaction."""
    conn.execute(
        "INSERT INTO checkpoints (seq, hash, signature, at) VALUES (?, ?, ?, ?)",
        (seq, h, signer.sign(seq, h), at),
    )


def last(conn: sqlite3.Connection) -> Checkpoint | None:
    """The checkpoint with the highest sequence, or None."""
    row = conn.execute(
        "SELECT seq, hash, signature, at FROM checkpoints ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return Checkpoint(seq=int(row[0]), hash=str(row[1]), signature=str(row[2]), at=str(row[3]))


def all_checkpoints(conn: sqlite3.Connection) -> list[Checkpoint]:
    """Every checkpoint, by sequence."""
    rows = conn.execute("SELECT seq, hash, signature, at FROM checkpoints ORDER BY seq").fetchall()
    return [
        Checkpoint(seq=int(r[0]), hash=str(r[1]), signature=str(r[2]), at=str(r[3])) for r in rows
    ]


def registered_public_key(conn: sqlite3.Connection) -> Ed25519PublicKey | None:
    """The public key the store recorded when it was first signed, or None."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (PUBLIC_KEY_SETTING,)).fetchone()
    return None if row is None else load_public(str(row[0]).encode("ascii"))


def register_public_key(conn: sqlite3.Connection, signer: CheckpointSigner) -> None:
    """Remember the signing key's public half once; the caller holds the write transaction."""
    conn.execute(
        "INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
        (PUBLIC_KEY_SETTING, signer.public_pem()),
    )
