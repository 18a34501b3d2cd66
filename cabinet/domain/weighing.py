"""Counting from weight: how many units a settled weight change means, and what a drawer shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Below this a change is load-cell noise in a pocket with no item to count against.
NOISE_CG = 50


@dataclass(frozen=True, kw_only=True, slots=True)
class PocketScale:
    """What a pocket's weight is counted against: its item's unit weight and tolerance."""

    pocket: int
    item_code: str | None
    unit_cg: int
    tolerance_cg: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PocketChange:
    """A pocket whose count changed (or could not be read) while a drawer was open."""

    pocket: int
    item_code: str | None
    expected: int  # signed units expected to move (0 for a pocket that should not change)
    counted: int  # signed units that moved, read from the weight
    readable: bool  # False when the residual was beyond tolerance (count not trusted)
    delta_cg: int


def count_change(delta_cg: int, unit_cg: int, tolerance_cg: int) -> tuple[int, bool]:
    """Signed units a weight change means, and whether the residual is within tolerance."""
    if unit_cg <= 0:
        return 0, abs(delta_cg) <= NOISE_CG
    units = round(delta_cg / unit_cg)
    residual = abs(delta_cg - units * unit_cg)
    # Tolerance is per unit: a pocket of many units may carry the error of each.
    allowed = max(tolerance_cg, tolerance_cg * max(1, abs(units)))
    return units, residual <= allowed


def compare_drawer(
    before: Mapping[int, int],
    after: Mapping[int, int],
    scales: Mapping[int, PocketScale],
    expected: Mapping[int, int],
) -> list[PocketChange]:
    """Every pocket whose movement differs from what was expected; empty means all is well."""
    changes: list[PocketChange] = []
    for pocket in sorted(set(before) | set(after) | set(expected)):
        delta = after.get(pocket, 0) - before.get(pocket, 0)
        scale = scales.get(pocket)
        unit, tol = (scale.unit_cg, scale.tolerance_cg) if scale else (0, NOISE_CG)
        want = expected.get(pocket, 0)
        if unit <= 0:
            counted, readable = 0, abs(delta) <= NOISE_CG
        else:
            counted, readable = count_change(delta, unit, tol)
        if counted != want or not readable:
            changes.append(
                PocketChange(
                    pocket=pocket,
                    item_code=scale.item_code if scale else None,
                    expected=want,
                    counted=counted,
                    readable=readable,
                    delta_cg=delta,
                )
            )
    return changes


def cause_of(change: PocketChange, target_pocket: int | None) -> str:
    """The discrepancy cause for one pocket change, in the words of the ledger."""
    if not change.readable:
        return "weight_unclear"
    if target_pocket is None or change.pocket != target_pocket:
        return "wrong_pocket"
    if change.expected < 0:
        return "too_many" if change.counted < change.expected else "too_few"
    if change.expected > 0:
        return "too_many" if change.counted > change.expected else "too_few"
    return "unexpected_change"
