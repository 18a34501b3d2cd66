"""Hashing the demo badge codes and PINs the way cabinets store them (salted scrypt strings).

Format (see the User message of the contract): "scrypt$n=<N>,r=<r>,p=<p>$<salt>$<key>", salt
and 32-byte key in unpadded URL-safe base64. Clear secrets never leave the central.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

# The cabinet's production cost (about 50 ms per hash); the demo central can be told to use a
# cheaper one for fast tests, every string records its own parameters.
DEFAULT_COST = (2**15, 8, 1)
FAST_COST = (2**4, 1, 1)


def _b64(data: bytes) -> str:
    """Unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def hash_secret(secret: str, cost: tuple[int, int, int] = DEFAULT_COST) -> str:
    """A salted scrypt string for a PIN or badge code."""
    if not secret:
        raise ValueError("an empty secret cannot be hashed")
    n, r, p = cost
    salt = os.urandom(16)
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret.encode("utf-8"))
    return f"scrypt$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"


# The badge lookup tag, as the cabinet derives it (cabinet.security.credentials.badge_tag;
# sim/ may not import cabinet/, so it is written again here and a test checks they agree):
# scrypt of the badge code with the fixed site-wide salt TAG_SALT_PREFIX + care unit, as
# "badgetag$n=<N>,r=<r>,p=<p>$<salt>$<key>". Deterministic, so the cabinet can index it.
TAG_SALT_PREFIX = "cabinet.badge-tag.v1:"
TAG_COST = (2**13, 8, 1)


def badge_tag(code: str, site: str, cost: tuple[int, int, int] = TAG_COST) -> str:
    """The site-wide lookup tag of a badge code (the same for every user of the site)."""
    if not code or not site:
        raise ValueError("a badge tag needs a badge code and a site")
    n, r, p = cost
    salt = (TAG_SALT_PREFIX + site).encode("utf-8")
    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(code.encode("utf-8"))
    return f"badgetag$n={n},r={r},p={p}${_b64(salt)}${_b64(key)}"
