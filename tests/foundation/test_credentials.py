"""PINs and badge codes are kept as salted scrypt hashes; the cabinet key is owner-only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cabinet.security.credentials import (
    DEFAULT_PARAMS,
    FAST_PARAMS,
    hash_secret,
    needs_rehash,
    verify_secret,
)
from cabinet.security.keys import CabinetKeyError, load_or_create, load_private, public_path
from cabinet.store.checkpoints import CheckpointSigner


def test_a_pin_is_never_stored_in_clear() -> None:
    """The stored string names its scheme and cost, holds a salt and no trace of the PIN."""
    stored = hash_secret("4821")
    scheme, params, salt, digest = stored.split("$")
    assert scheme == "scrypt" and params == "n=32768,r=8,p=1"
    assert "4821" not in stored and len(salt) >= 16 and len(digest) >= 40
    assert verify_secret("4821", stored)
    assert not verify_secret("4822", stored)


def test_same_pin_twice_gives_two_hashes() -> None:
    """A fresh salt each time: equal PINs cannot be spotted in the users table."""
    assert hash_secret("0000", FAST_PARAMS) != hash_secret("0000", FAST_PARAMS)


def test_fast_parameters_are_recorded_and_flagged() -> None:
    """Test-speed hashes verify from their own recorded cost and ask to be rehashed."""
    badge = hash_secret("BADGE-0042", FAST_PARAMS)
    assert "n=16,r=1,p=1" in badge
    assert verify_secret("BADGE-0042", badge)
    assert needs_rehash(badge) and not needs_rehash(hash_secret("x", DEFAULT_PARAMS))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "4821",
        "bcrypt$n=16,r=1,p=1$AAAA$BBBB",
        "scrypt$n=15,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,  # n not a power of two
        "scrypt$n=4194304,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43,  # absurd cost
        "scrypt$n=16,r=1$AAAA$BBBB",
        "scrypt$n=16,r=1,p=1$%%%%$BBBB",
    ],
)
def test_malformed_stored_hashes_never_verify(stored: str) -> None:
    """Fail closed: anything that is not one of our hashes refuses every secret."""
    assert verify_secret("4821", stored) is False


def test_empty_secrets_are_refused() -> None:
    """An empty PIN can be neither stored nor matched."""
    with pytest.raises(ValueError):
        hash_secret("")
    assert not verify_secret("", hash_secret("1", FAST_PARAMS))


def test_cabinet_key_is_created_once_owner_only(tmp_path: Path) -> None:
    """First start creates a 0600 key and its public half; later starts load the same key."""
    path = tmp_path / "state" / "cabinet.key"
    key = load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_path(path).exists()
    again = load_or_create(path)
    assert CheckpointSigner(again).public_pem() == CheckpointSigner(key).public_pem()
    assert "PRIVATE" not in repr(CheckpointSigner(key))


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A key someone loosened to 0644 is not used: the start fails with a clear line."""
    path = tmp_path / "cabinet.key"
    load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(CabinetKeyError, match="mode 0644: it must be 0600"):
        load_private(path)
