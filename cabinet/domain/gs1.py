"""GTIN checks the workflows repeat at their own boundary (defence in depth)."""

from __future__ import annotations


def gtin_valid(gtin: str) -> bool:
    """True for a 14-digit GTIN whose GS1 check digit is right."""
    if len(gtin) != 14 or not gtin.isdigit():
        return False
    digits = [int(c) for c in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits[:-1]))
    return (10 - total % 10) % 10 == digits[-1]
