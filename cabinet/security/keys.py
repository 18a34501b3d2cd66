"""The cabinet's Ed25519 signing key: created once at first start, private file mode 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cabinet.errors import CabinetError


class CabinetKeyError(CabinetError):
    """The cabinet key is missing, unreadable, too widely readable or not an Ed25519 key."""


def public_path(private_path: Path) -> Path:
    """Where the public half is kept, next to the private key."""
    return private_path.with_suffix(".pub")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a new file with `mode` from the start, durably, refusing to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """Load the cabinet key, or create it (0600) with its public half when none exists yet."""
    if path.exists():
        return load_private(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        _write_new(path, pem, 0o600)
    except FileExistsError:
        return load_private(path)  # another process created it first: use that one
    except OSError as exc:
        raise CabinetKeyError(f"cannot create the cabinet key {path}: {exc.strerror}") from exc
    pub = public_path(path)
    if pub.exists():
        pub.unlink()  # a public half without its private key belongs to no one
    _write_new(pub, public_pem(key.public_key()), 0o644)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new names must survive a power cut too
    finally:
        os.close(dir_fd)
    return key


def load_private(path: Path) -> Ed25519PrivateKey:
    """Load the private key; refuse one that group or others could read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as exc:
        raise CabinetKeyError(f"cannot read the cabinet key {path}: {exc.strerror}") from exc
    if mode & 0o077:
        raise CabinetKeyError(
            f"the cabinet key {path} has mode {mode:04o}: it must be 0600 (owner only)"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise CabinetKeyError(f"the cabinet key {path} is not a readable PEM key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CabinetKeyError(f"the cabinet key {path} is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), as registered with the central."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public(data: bytes) -> Ed25519PublicKey:
    """Parse a PEM public key; refuse anything but Ed25519."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise CabinetKeyError("not a readable PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CabinetKeyError("the public key is not an Ed25519 key")
    return key
