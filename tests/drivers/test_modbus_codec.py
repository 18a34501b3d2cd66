"""Register codecs: 32-bit words, status bits, decimals and units, and the factory's checks."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.build import ScaleSpec, from_config, scanner_from_config
from drivers.modbus.codec import (
    CABINET_PROFILE,
    HX711_PROFILE,
    ScaleProfile,
    decode_flags,
    decode_status,
    decode_weights,
    int32,
    int32_words,
    profile_named,
    to_centigrams,
)


def test_int32_high_word_first() -> None:
    """The issue's words: 0x0000 0x0084 is 132, 0xFFFF 0xC1EF is -15889."""
    assert int32([0x0000, 0x0084]) == 132
    assert int32([0xFFFF, 0xC1EF]) == -15889
    assert int32([0xC1EF, 0xFFFF], "little") == -15889
    with pytest.raises(ValueError):
        int32([1])
    with pytest.raises(ValueError):
        int32([0x10000, 0])


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.sampled_from(["big", "little"]))
def test_int32_words_round_trip(value: int, order: str) -> None:
    """Encoding then decoding gives the value back, in either word order."""
    assert int32(list(int32_words(value, order)), order) == value  # type: ignore[arg-type]


def test_hx711_status_word() -> None:
    """0x0802: 2 decimals, bit 5 clear = stable; 0x0822: moving."""
    assert decode_status(HX711_PROFILE, 0x0802).stable
    assert decode_status(HX711_PROFILE, 0x0802).decimals == 2
    assert not decode_status(HX711_PROFILE, 0x0822).stable
    assert decode_status(HX711_PROFILE, 0x0007).decimals == 7


def test_cabinet_status_word() -> None:
    """Bit 0 stable, bit 1 overload, bit 2 sensor fault."""
    status = decode_status(CABINET_PROFILE, 0b110)
    assert (status.stable, status.overload, status.fault) == (False, True, True)
    assert decode_status(CABINET_PROFILE, 0b001).stable


@pytest.mark.parametrize(
    ("raw", "decimals", "unit", "centigrams"),
    [
        (132, 2, "g", 132),
        (-15889, 2, "g", -15889),
        (132, 0, "g", 13200),
        (1325, 3, "g", 132),  # 1.325 g: half to even
        (1335, 3, "g", 134),
        (5, 3, "kg", 500),
        (12345, 0, "cg", 12345),
    ],
)
def test_to_centigrams(raw: int, decimals: int, unit: str, centigrams: int) -> None:
    """Raw value, decimals and display unit give whole centigrams."""
    assert to_centigrams(raw, decimals, unit) == centigrams


def test_decode_weights_needs_two_registers_per_pocket() -> None:
    """A bank read of the wrong size is refused."""
    assert decode_weights(CABINET_PROFILE, [0, 100, 0xFFFF, 0xFF9C], 2) == [100, -100]
    with pytest.raises(ValueError):
        decode_weights(CABINET_PROFILE, [0, 100, 0], 2)


def test_profiles_by_name_and_unit() -> None:
    """Configuration names map to profiles; an unknown name or unit is a clear error."""
    assert profile_named("hx711", "kg").unit == "kg"
    with pytest.raises(ValueError, match="scale profile 'nope'"):
        profile_named("nope")
    with pytest.raises(ValueError, match="weight unit"):
        profile_named("hx711", "lb")


async def test_factory_builds_one_link_for_board_and_scales() -> None:
    """Board and banks share a link; unit 0 means 10 + drawer; hx711 takes the weight unit."""
    hardware = from_config(
        host="127.0.0.1",
        port=1,
        drawers=[
            ScaleSpec(drawer=1, pockets=8),
            ScaleSpec(drawer=0, pockets=1, profile="hx711", unit=40),
        ],
        weight_unit="kg",
    )
    try:
        assert hardware.board.drawer_count == 2
        assert hardware.scales[1].unit == 11
        assert hardware.scales[0].unit == 40
        assert hardware.scales[0].profile.unit == "kg"
        assert hardware.scales[1].profile.unit == "cg"
    finally:
        await hardware.close()


@pytest.mark.parametrize(
    "drawers",
    [
        [],
        [ScaleSpec(drawer=0, pockets=8), ScaleSpec(drawer=0, pockets=8)],
        [ScaleSpec(drawer=0, pockets=0)],
        [ScaleSpec(drawer=0, pockets=8, profile="mystery")],
        [ScaleSpec(drawer=0, pockets=24, profile="hx711", unit=240)],
    ],
)
def test_factory_refuses_impossible_layouts(drawers: list[ScaleSpec]) -> None:
    """No drawer, a duplicate, no pocket, an unknown profile, units past 247: refused."""
    with pytest.raises(ValueError):
        from_config(drawers=drawers)


def test_scanner_factory_refuses_unknown_transport() -> None:
    """Only serial and tcp exist."""
    with pytest.raises(ValueError, match="scanner transport"):
        scanner_from_config(transport="usb")  # type: ignore[arg-type]


@given(
    st.sampled_from([CABINET_PROFILE, HX711_PROFILE]),
    st.lists(st.integers(min_value=0, max_value=0xFFFF), max_size=24),
)
def test_bulk_flags_agree_with_single_status(profile: ScaleProfile, words: list[int]) -> None:
    """The bank fast path decodes every status word exactly like `decode_status`."""
    singles = [decode_status(profile, w) for w in words]
    assert decode_flags(profile, words) == [(s.stable, s.overload, s.fault) for s in singles]


@given(st.lists(st.integers(min_value=-(2**20), max_value=2**20), min_size=1, max_size=60))
def test_bulk_weights_agree_with_int32(values: list[int]) -> None:
    """The bank fast path decodes every weight exactly like `int32`, in both word orders."""
    for profile in (CABINET_PROFILE, dataclasses.replace(CABINET_PROFILE, word_order="little")):
        words = [w for v in values for w in int32_words(v, profile.word_order)]
        assert decode_weights(profile, words, len(values)) == values
