"""Scan decoding: French packs, badges and wristbands, and every way a code can be refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.barcode.decode import decode, decode_pack
from drivers.barcode.framing import ReadFramer
from hal import DrugPack, PatientWristband, ScanKind, StaffBadge, UnknownCode

GS = "\x1d"
FRENCH_PACK = "]d2" + "01034009338167591714050010B04059A" + GS + "21SERIAL1"


def test_french_pack_decodes_to_cip13_lot_expiry_and_serial() -> None:
    """The issue's pack: CIP13 without the GTIN's leading 0, day 00 as the month's last day."""
    scan = decode(FRENCH_PACK, at=5.0)
    assert scan.kind is ScanKind.DRUG_PACK
    assert scan.symbology == "]d2"
    assert scan.at == 5.0
    assert scan.meaning == DrugPack(
        gtin="03400933816759",
        cip13="3400933816759",
        expiry=dt.date(2014, 5, 31),
        lot="B04059A",
        serial="SERIAL1",
    )


def test_day_00_in_february_of_a_leap_year() -> None:
    """Expiry 240200 is 29 February 2024."""
    scan = decode("]d2" + "010340093381675917240200" + "10L1" + GS + "21S1")
    assert isinstance(scan.meaning, DrugPack)
    assert scan.meaning.expiry == dt.date(2024, 2, 29)


def test_foreign_gtin_has_no_cip13() -> None:
    """A German pack (GTIN 04150...) decodes, without CIP13."""
    scan = decode("]d2" + "0104150999999994" + "17270630" + "10ABC" + GS + "21XYZ")
    assert isinstance(scan.meaning, DrugPack)
    assert scan.meaning.cip13 is None


def test_pack_without_aim_identifier_still_decodes() -> None:
    """A reader with AIM identifiers off sends the bare GS1 element strings."""
    scan = decode(FRENCH_PACK[3:])
    assert scan.symbology == ""
    assert scan.kind is ScanKind.DRUG_PACK


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("]d2" + "01034009338167581714050010B04059A" + GS + "21SERIAL1", "check digit"),
        ("]d2" + "01034009338167591714023110B04059A" + GS + "21SERIAL1", "(17)"),
        ("]d2" + "01034009338167591714130010B04059A" + GS + "21SERIAL1", "(17)"),
        ("]d2" + "01034009338167591714050010B04059A", "lacks (21) serial"),
        ("]d2" + "01034009338167591714050010B04059A21SERIAL1", "swallowed"),
        ("]d2" + "0103400933816759" + "10B04059A" + GS + "21SERIAL1", "lacks (17) expiry"),
        ("]d2" + "010340093381675917140500" + "21S" + GS + "10L" + GS + "10M", "twice"),
        ("]d2" + "garbage", "GS1"),
        ("\x00\xff\xfe\x1b[2J", "control"),
        ("", "empty"),
        ("]d2", "empty"),
        ("]C0B:ab", "badge code"),
        ("]C0P:12 34", "IPP"),
        ("]C0HELLO", "not a pack"),
        ("]C0B:1234" + GS + "5", "GS separator"),
        ("]C0" + "B:" + "x" * 600, "longer than"),
    ],
)
def test_rejections_name_their_reason(raw: str, reason: str) -> None:
    """Each bad read is UNKNOWN, and its reason says why."""
    scan = decode(raw)
    assert scan.kind is ScanKind.UNKNOWN
    assert isinstance(scan.meaning, UnknownCode)
    assert reason in scan.meaning.reason


@pytest.mark.parametrize("symbology", ["]C0", "]A0", "]d1", "]Q1", ""])
def test_badges_and_wristbands_by_prefix(symbology: str) -> None:
    """B: is a staff badge, P: a patient wristband, whatever the non-GS1 symbology."""
    badge = decode(symbology + "B:NURSE-0042")
    wristband = decode(symbology + "P:800123456")
    assert badge.kind is ScanKind.STAFF_BADGE
    assert badge.meaning == StaffBadge(code="NURSE-0042")
    assert wristband.kind is ScanKind.PATIENT_WRISTBAND
    assert wristband.meaning == PatientWristband(patient_id="800123456")


def _gtin_check_ok(gtin: str) -> bool:
    """The GS1 mod-10 check of a 14-digit GTIN."""
    digits = [int(c) for c in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits[:-1]))
    return (10 - total % 10) % 10 == digits[-1]


def _assert_sound(raw: str) -> None:
    """Whatever came in, the answer is a well-formed scan: unknown with a reason, or valid."""
    scan = decode(raw)
    assert scan.raw == raw
    meaning = scan.meaning
    if isinstance(meaning, UnknownCode):
        assert scan.kind is ScanKind.UNKNOWN and meaning.reason
    elif isinstance(meaning, DrugPack):
        assert scan.kind is ScanKind.DRUG_PACK
        assert len(meaning.gtin) == 14 and _gtin_check_ok(meaning.gtin)
        assert meaning.lot and meaning.serial
        assert meaning.cip13 is None or "0" + meaning.cip13 == meaning.gtin
    elif isinstance(meaning, StaffBadge):
        assert scan.kind is ScanKind.STAFF_BADGE and 4 <= len(meaning.code) <= 64
    else:
        assert scan.kind is ScanKind.PATIENT_WRISTBAND and meaning.patient_id


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    """Random bytes through the framer and the decoder: never an exception."""
    framer = ReadFramer()
    for read in [*framer.feed(data), *framer.timeout()]:
        _assert_sound(read)
    _assert_sound(data.decode("latin-1"))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["]d2", "]C1", "]Q3", "]C0", "]d1", "", "]zz"]),
    st.text(alphabet=st.sampled_from("0123456789ABCabc" + GS + ":BP-"), max_size=60),
)
def test_random_near_miss_codes_never_raise(symbology: str, body: str) -> None:
    """Text shaped like real codes (digits, AIs, GS, prefixes) is decoded or refused soundly."""
    _assert_sound(symbology + body)
    result = decode_pack(symbology + body)
    assert isinstance(result, DrugPack | UnknownCode)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_random_unicode_text_never_raises(text: str) -> None:
    """Any text at all, non-ASCII included."""
    _assert_sound(text)
