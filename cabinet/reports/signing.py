"""The register's second medium: a file signed with the cabinet key, and its verification.

Layout: the body (UTF-8 JSON), then one trailer line
`#signature ed25519 key=<public key, 64 hex> sig=<signature, 128 hex>` and a newline. The
signature covers the body and the trailer up to `sig=`, so every byte of the file but the
signature's own is signed, and the trailer is parsed strictly (lower-case hex, exact
spacing, final newline): changing any single byte makes verification fail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cabinet.reports.model import ReportError
from cabinet.security.keys import CabinetKeyError, load_private, load_public

_MARK = b"\n#signature ed25519 key="
_TRAILER = re.compile(rb"#signature ed25519 key=([0-9a-f]{64}) sig=([0-9a-f]{128})\n")


def _raw(public: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_document(body: bytes, key: Ed25519PrivateKey) -> bytes:
    """The signed file for a body."""
    if _MARK in body:
        raise ReportError("the document body holds a signature line")
    head = body + _MARK + _raw(key.public_key()).hex().encode("ascii")
    return head + b" sig=" + key.sign(head).hex().encode("ascii") + b"\n"


@dataclass(frozen=True, kw_only=True, slots=True)
class Verified:
    """The outcome of checking a signed file."""

    ok: bool
    message: str
    document: dict[str, Any] | None = None


def verify_document(data: bytes, trusted: Ed25519PublicKey) -> Verified:
    """Check a signed file against the trusted public key."""
    cut = data.rfind(_MARK)
    if cut < 0:
        return Verified(ok=False, message="no signature line: not a signed register file")
    trailer = data[cut + 1 :]
    match = _TRAILER.fullmatch(trailer)
    if match is None:
        return Verified(ok=False, message="the signature line is malformed")
    signer, signature = match.group(1), match.group(2)
    if signer.decode("ascii") != _raw(trusted).hex():
        return Verified(ok=False, message="signed by another key than the trusted cabinet key")
    head = data[: cut + 1] + trailer[: trailer.index(b" sig=")]
    try:
        trusted.verify(bytes.fromhex(signature.decode("ascii")), head)
    except InvalidSignature:
        return Verified(ok=False, message="BAD SIGNATURE: the file was changed after it was signed")
    try:
        document = json.loads(data[:cut].decode("utf-8"))
    except ValueError:
        return Verified(ok=False, message="the signed body is not a readable register")
    if not isinstance(document, dict):
        return Verified(ok=False, message="the signed body is not a readable register")
    return Verified(ok=True, message="OK: signature valid", document=document)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The private key that signs exports (the cabinet key, mode 0600)."""
    try:
        return load_private(path)
    except CabinetKeyError as exc:
        raise ReportError(str(exc)) from exc


def load_trusted_key(path: Path) -> Ed25519PublicKey:
    """A public key to verify with, from a public PEM file or the private key file itself."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read the key {path}: {exc.strerror}") from exc
    try:
        if b"PRIVATE KEY" in data:
            return load_private(path).public_key()
        return load_public(data)
    except CabinetKeyError as exc:
        raise ReportError(str(exc)) from exc
