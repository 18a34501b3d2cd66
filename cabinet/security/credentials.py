"""Salted scrypt hashes of PINs and badge codes: the store never holds a secret in clear."""

from __future__ import annotations

import base64
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_SCHEME = "scrypt"
_SALT_BYTES = 16
_KEY_BYTES = 32
# A stored string could name absurd parameters to make a check burn memory: cap them.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16


@dataclass(frozen=True, kw_only=True, slots=True)
class ScryptParams:
    """Cost of one hash: n (CPU/memory, power of two), r (block size), p (parallelism)."""

    n: int
    r: int
    p: int


# About 50 ms and 16 MiB per hash: slow enough against a stolen database of 4-digit PINs
# to matter, fast enough for a nurse signing in.
DEFAULT_PARAMS = ScryptParams(n=2**15, r=8, p=1)
# For tests only; every stored string records its own parameters, so both verify alike.
FAST_PARAMS = ScryptParams(n=2**4, r=1, p=1)


def _b64(data: bytes) -> str:
    """Unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    """Inverse of _b64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kdf(salt: bytes, params: ScryptParams) -> Scrypt:
    """A one-shot scrypt instance with these parameters."""
    return Scrypt(salt=salt, length=_KEY_BYTES, n=params.n, r=params.r, p=params.p)


def hash_secret(secret: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
    """Hash a PIN or badge code as `scrypt$n=..,r=..,p=..$salt$hash` with a fresh salt."""
    if not secret:
        raise ValueError("an empty secret cannot be stored")
    salt = os.urandom(_SALT_BYTES)
    derived = _kdf(salt, params).derive(secret.encode("utf-8"))
    return f"{_SCHEME}$n={params.n},r={params.r},p={params.p}${_b64(salt)}${_b64(derived)}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes] | None:
    """Split a stored hash into its parts, or None when it is not one of ours."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME:
        return None
    try:
        settings = dict(item.split("=", 1) for item in parts[1].split(","))
        params = ScryptParams(n=int(settings["n"]), r=int(settings["r"]), p=int(settings["p"]))
        salt, expected = _unb64(parts[2]), _unb64(parts[3])
    except (ValueError, KeyError):
        return None
    power_of_two = params.n > 1 and params.n & (params.n - 1) == 0
    if not (power_of_two and params.n <= _MAX_N and 0 < params.r <= _MAX_R):
        return None
    if not (0 < params.p <= _MAX_P and salt and len(expected) == _KEY_BYTES):
        return None
    return params, salt, expected


def verify_secret(secret: str, stored: str) -> bool:
    """True when `secret` matches `stored`; compared in constant time; malformed is False."""
    parsed = _parse(stored)
    if parsed is None or not secret:
        return False
    params, salt, expected = parsed
    derived = _kdf(salt, params).derive(secret.encode("utf-8"))
    return hmac.compare_digest(derived, expected)


def needs_rehash(stored: str, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    """True when `stored` was made with other parameters than `params` (e.g. test ones)."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != params
