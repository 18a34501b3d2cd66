"""Decoding one barcode read into a `hal.Scan`: drug packs (GS1), staff badges, patient wristbands.

A read is the text between two terminators, starting with its AIM symbology identifier when
the reader sends one (``]d2`` GS1 DataMatrix, ``]C1`` GS1-128, ``]Q3`` GS1 QR, ``]C0`` Code 128,
``]d1`` plain DataMatrix, ``]Q1`` plain QR, ...).

Drug packs (GS1, parsed with biip, never by hand) must carry AI 01 (GTIN), 17 (expiry), 10
(lot) and 21 (serial), each exactly once, with no element or message error. A pack whose lot
swallowed its serial (GS separator missing after the lot) therefore lacks AI 21 and is rejected.
An expiry day ``00`` means the last day of the month; an impossible date is rejected. A French
GTIN ``03400…`` carries the CIP13: the GTIN without its leading ``0``.

Staff badges and patient wristbands follow the cabinet's printing convention, in any non-GS1
symbology (Code 128, Code 39, plain DataMatrix, plain QR) or with no identifier:

- ``B:<code>`` is a staff badge; the code is 4 to 64 characters of ``A-Z a-z 0-9 . _ -``.
- ``P:<ipp>`` is a patient wristband; the IPP is 1 to 20 characters of ``A-Z 0-9``.

Everything else decodes to `hal.UnknownCode` with the reason. `decode` never raises.
"""

from __future__ import annotations

import re

from biip import ParseConfig, ParseResult, parse

from hal import DrugPack, PatientWristband, Scan, ScanKind, StaffBadge, UnknownCode

GS = "\x1d"
MAX_READ = 512  # longer than any pack, badge or wristband code we print or accept
GS1_SYMBOLOGIES = frozenset({"]d2", "]C1", "]Q3", "]e0", "]J1"})
REQUIRED_PACK_AIS = ("01", "17", "10", "21")
BADGE_PREFIX = "B:"
WRISTBAND_PREFIX = "P:"
FRENCH_GTIN_PREFIX = "03400"

_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_BADGE = re.compile(r"[A-Za-z0-9._-]{4,64}")
_IPP = re.compile(r"[A-Z0-9]{1,20}")
# Printable ASCII only (GS is allowed inside GS1 data and checked apart).
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_CONFIG = ParseConfig(separator_chars=[GS])


def decode(raw: str, at: float = 0.0) -> Scan:
    """Decode one read (AIM identifier included, terminator excluded); never raises."""
    symbology, data = split_symbology(raw)
    meaning = _meaning(symbology, data)
    kind = {
        DrugPack: ScanKind.DRUG_PACK,
        StaffBadge: ScanKind.STAFF_BADGE,
        PatientWristband: ScanKind.PATIENT_WRISTBAND,
    }.get(type(meaning), ScanKind.UNKNOWN)
    return Scan(raw=raw, symbology=symbology, kind=kind, meaning=meaning, at=at)


def split_symbology(raw: str) -> tuple[str, str]:
    """The AIM identifier (or "") and the data after it."""
    if _AIM.match(raw):
        return raw[:3], raw[3:]
    return "", raw


def unknown(reason: str) -> UnknownCode:
    """A rejection with its reason."""
    return UnknownCode(reason=reason)


def _meaning(symbology: str, data: str) -> DrugPack | StaffBadge | PatientWristband | UnknownCode:
    """What the data means, given its symbology."""
    if not data:
        return unknown("empty read")
    if len(data) > MAX_READ:
        return unknown(f"read of {len(data)} characters is longer than {MAX_READ}")
    if _PRINTABLE.fullmatch(data.replace(GS, "")) is None:
        return unknown("read holds control or non-ASCII characters")
    if symbology in GS1_SYMBOLOGIES:
        return decode_pack(symbology + data)
    if symbology == "" and data[:2] in REQUIRED_PACK_AIS:
        # A reader with AIM identifiers off still sends packs: try them as GS1.
        return decode_pack(data)
    if GS in data:
        return unknown("GS separator outside a GS1 symbology")
    if data.startswith(BADGE_PREFIX):
        code = data[len(BADGE_PREFIX) :]
        if _BADGE.fullmatch(code):
            return StaffBadge(code=code)
        return unknown("badge code must be 4 to 64 letters, digits, '.', '_' or '-'")
    if data.startswith(WRISTBAND_PREFIX):
        ipp = data[len(WRISTBAND_PREFIX) :]
        if _IPP.fullmatch(ipp):
            return PatientWristband(patient_id=ipp)
        return unknown("wristband IPP must be 1 to 20 capital letters or digits")
    if symbology == "" and data[:2] in REQUIRED_PACK_AIS:
        # A reader with AIM identifiers off still sends packs: try them as GS1.
        return decode_pack(data)
    return unknown(f"not a pack, badge or wristband code (symbology {symbology or 'none'})")


def decode_pack(text: str) -> DrugPack | UnknownCode:
    """A GS1 pack code (with or without its AIM identifier) as a `DrugPack`, or why not."""
    try:
        result = parse(text, config=_CONFIG)
    except Exception as exc:  # biip promises not to raise; a bug there must not stop the reader
        return unknown(f"GS1 parser failed: {type(exc).__name__}")
    return _pack_from(result)


def _pack_from(result: ParseResult) -> DrugPack | UnknownCode:
    """Check every element of a biip result and build the pack."""
    if result.gs1_message_error:
        return unknown(f"not a valid GS1 message: {result.gs1_message_error}")
    message = result.gs1_message
    if message is None:
        return unknown("not a GS1 message")
    found: dict[str, str] = {}
    for element in message.element_strings:
        ai = element.ai.ai
        for name in ("gtin_error", "gln_error", "sscc_error"):
            error = getattr(element, name, None)
            if error:
                return unknown(f"AI ({ai}): {error}")
        if ai in found:
            return unknown(f"AI ({ai}) appears twice")
        found[ai] = element.value
    missing = [ai for ai in REQUIRED_PACK_AIS if ai not in found]
    if missing:
        return unknown(_missing_reason(missing, found))
    expiry = message.element_strings.get(ai="17")
    gtin = found["01"]
    if expiry is None or expiry.date is None:
        return unknown("AI (17): expiry date missing or impossible")
    if len(gtin) != 14 or not gtin.isdigit():
        return unknown(f"AI (01): GTIN {gtin!r} is not 14 digits")
    return DrugPack(
        gtin=gtin,
        cip13=gtin[1:] if gtin.startswith(FRENCH_GTIN_PREFIX) else None,
        expiry=expiry.date,
        lot=found["10"],
        serial=found["21"],
    )


def _missing_reason(missing: list[str], found: dict[str, str]) -> str:
    """Why a pack lacking required AIs is refused, naming a merged lot when that is the cause."""
    names = {"01": "GTIN", "17": "expiry", "10": "lot", "21": "serial"}
    listed = ", ".join(f"({ai}) {names[ai]}" for ai in missing)
    for ai in missing:
        for holder in ("10", "21"):
            if holder in found and ai in found[holder][1:]:
                return (
                    f"pack code lacks {listed}: AI ({holder}) {found[holder]!r} seems to have "
                    "swallowed it (GS separator missing)"
                )
    return f"pack code lacks {listed}"
