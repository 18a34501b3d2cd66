"""Translation catalogs (French by default, English) shared by the server and the kiosk page."""

from __future__ import annotations

import json
import string
from functools import cache
from pathlib import Path
from typing import Any, Literal

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
CATALOG_DIR = Path(__file__).parent / "static" / "i18n"


@cache
def catalog(language: Language) -> dict[str, str]:
    """The flat key → text catalog of one language (the same file the page loads)."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: must be one of {', '.join(LANGUAGES)}")
    data = json.loads((CATALOG_DIR / f"{language}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"catalog {language}: must be a flat object of strings")
    return data


class _Lenient(dict[str, Any]):
    """Format arguments that leave an unknown placeholder visible instead of failing."""

    def __missing__(self, key: str) -> str:
        """Leave an unknown placeholder as it was written."""
        return "{" + key + "}"


def translate(key: str, language: Language, params: dict[str, Any] | None = None) -> str:
    """The text of a key in a language, with its placeholders filled.

    An unknown key falls back to English, then to the key itself: a refusal must always
    reach the nurse, even worded plainly.
    """
    text = catalog(language).get(key) or catalog("en").get(key) or key
    if not params:
        return text
    return string.Formatter().vformat(text, (), _Lenient(params))
