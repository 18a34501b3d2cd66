"""The override search rule and the override reason codes."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Sequence
from typing import TypeVar

from cabinet.domain.refusals import RefusalCode, Refused

MIN_LETTERS = 5
T = TypeVar("T")


class OverrideReason(enum.Enum):
    """Why a nurse takes an item before a verified order exists."""

    EMERGENCY = "emergency"
    PHARMACY_CLOSED = "pharmacy_closed"
    VERBAL_ORDER = "verbal_order"
    NEW_ADMISSION = "new_admission"
    PROTOCOL = "protocol"


def fold(text: str) -> str:
    """Lower case without accents, for matching names the way nurses type them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def search(text: str, entries: Sequence[tuple[str, T]]) -> list[T]:
    """Entries whose key contains `text`; fewer than 5 letters only if exactly one matches."""
    needle = fold(text)
    if not needle:
        raise Refused(RefusalCode.SEARCH_TOO_SHORT, minimum=MIN_LETTERS)
    found = [value for key, value in entries if needle in fold(key)]
    letters = sum(1 for c in needle if c.isalnum())
    if letters < MIN_LETTERS and len(found) != 1:
        raise Refused(RefusalCode.SEARCH_TOO_SHORT, minimum=MIN_LETTERS)
    return found


def reason(code: str) -> OverrideReason:
    """The reason named by its code, or Refused(BAD_REASON)."""
    try:
        return OverrideReason(code)
    except ValueError:
        raise Refused(RefusalCode.BAD_REASON, reason=code) from None
