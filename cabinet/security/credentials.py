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


# -- badge lookup tags ---------------------------------------------------------------------
#
# A salted hash cannot be looked up, only tried user by user (about 50 ms each): with a ward
# of 100 users a badge scan took seconds. The tag is a second, deterministic hash of the badge
# code, the same for every user of a site, that the cabinet can look up in an index; the
# salted hash above is still verified on the row found.
#
# Scrypt with a fixed per-site salt rather than HMAC under a site key: an HMAC key would have
# to be provisioned to the central and every cabinet, rotated, and would sit on the same disk
# as the tags it protects, so a stolen store would give away both; scrypt needs no secret and
# still makes guessing badge codes from stolen tags cost memory and time. Its salt is
# TAG_SALT_PREFIX + the site (the care unit), so one site's tags are useless against
# another's. The tag records its own salt and cost like the salted hash does
# ("badgetag$n=..,r=..,p=..$<salt>$<key>"), so the cabinet needs no setting to derive it: it
# re-derives with the salt and cost of the tags it has received. Cost is moderate (about 8 ms)
# because it is paid on every scan on top of the one salted verification.
_TAG_SCHEME = "badgetag"
TAG_SALT_PREFIX = "cabinet.badge-tag.v1:"
TAG_PARAMS = ScryptParams(n=2**13, r=8, p=1)
# A tag ends with the 32-byte key in unpadded base64: the prefix is everything before it.
TAG_KEY_CHARS = 43


def tag_salt(site: str) -> bytes:
    """The fixed, site-wide salt of badge tags: TAG_SALT_PREFIX + the site's name, UTF-8."""
    if not site:
        raise ValueError("a badge tag needs the site it belongs to")
    return (TAG_SALT_PREFIX + site).encode("utf-8")


def _tag(code: str, salt: bytes, params: ScryptParams) -> str:
    """The tag string of a badge code under this salt and cost."""
    derived = _kdf(salt, params).derive(code.encode("utf-8"))
    return f"{_TAG_SCHEME}$n={params.n},r={params.r},p={params.p}${_b64(salt)}${_b64(derived)}"


def badge_tag(code: str, site: str, params: ScryptParams = TAG_PARAMS) -> str:
    """The deterministic lookup tag of a badge code for a site (the same for every user)."""
    if not code:
        raise ValueError("an empty badge code has no tag")
    return _tag(code, tag_salt(site), params)


def _parse_tag(tag: str, *, prefix: bool) -> tuple[ScryptParams, bytes] | None:
    """Cost and salt of a tag (or of a tag's prefix, which has no key), None when malformed."""
    parts = tag.split("$")
    if len(parts) != 4 or parts[0] != _TAG_SCHEME or (parts[3] == "") != prefix:
        return None
    # Same caps and checks as a salted hash: a stored tag must not name an absurd cost either.
    key = _b64(bytes(_KEY_BYTES)) if prefix else parts[3]
    parsed = _parse("$".join((_SCHEME, parts[1], parts[2], key)))
    return None if parsed is None else (parsed[0], parsed[1])


def valid_tag(tag: str) -> bool:
    """True when `tag` is a well-formed badge tag within the cost caps."""
    return _parse_tag(tag, prefix=False) is not None


def tag_prefix(tag: str) -> str:
    """The part of a tag naming its cost and salt (everything before the key)."""
    return tag[:-TAG_KEY_CHARS]


def tag_like(code: str, prefix: str) -> str | None:
    """The tag of a badge code with the cost and salt of `prefix`; None when it is malformed."""
    parsed = _parse_tag(prefix, prefix=True)
    if parsed is None or not code:
        return None
    params, salt = parsed
    return _tag(code, salt, params)
