"""Choosing where a dose comes from: first expiry first out, never from an expired lot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cabinet.domain.refusals import RefusalCode, Refused


@dataclass(frozen=True, kw_only=True, slots=True)
class LotStock:
    """A lot in a pocket."""

    lot: str
    expiry: dt.date
    quantity: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PocketStock:
    """A pocket holding the item, with its recorded quantity and its lots."""

    drawer: int
    pocket: int
    quantity: int
    lots: tuple[LotStock, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Pick:
    """The pocket to take from and the lot the take is booked against (None: FEFO by store)."""

    drawer: int
    pocket: int
    lot: str | None
    first_expiry: dt.date | None


def usable(pocket: PocketStock, today: dt.date) -> int:
    """Units of the pocket that are not known to be expired."""
    expired = sum(lot.quantity for lot in pocket.lots if lot.expiry < today)
    return max(0, pocket.quantity - expired)


def pick_pocket(pockets: Sequence[PocketStock], quantity: int, today: dt.date) -> Pick:
    """The pocket to dispense `quantity` from, FEFO; refuse out of stock or only-expired."""
    if not pockets:
        raise Refused(RefusalCode.NO_POCKET)
    candidates: list[tuple[dt.date, int, int, Pick]] = []
    any_stock = False
    for p in pockets:
        any_stock = any_stock or p.quantity > 0
        fresh = sorted(
            (lot for lot in p.lots if lot.expiry >= today and lot.quantity > 0),
            key=lambda lot: (lot.expiry, lot.lot),
        )
        expired = [lot for lot in p.lots if lot.expiry < today and lot.quantity > 0]
        if usable(p, today) < quantity:
            continue
        if fresh and fresh[0].quantity >= quantity:
            pick = Pick(
                drawer=p.drawer, pocket=p.pocket, lot=fresh[0].lot, first_expiry=fresh[0].expiry
            )
        elif not expired:
            # Untracked units, or a take across lots: the store books it first-expiry-first.
            pick = Pick(
                drawer=p.drawer,
                pocket=p.pocket,
                lot=None,
                first_expiry=fresh[0].expiry if fresh else None,
            )
        else:
            continue  # the store's FEFO booking would land on the expired lot
        first = pick.first_expiry or dt.date.max
        candidates.append((first, p.drawer, p.pocket, pick))
    if candidates:
        return min(candidates, key=lambda c: (c[0], c[1], c[2]))[3]
    if any_stock and any(p.quantity >= quantity for p in pockets):
        raise Refused(RefusalCode.ONLY_EXPIRED)
    raise Refused(RefusalCode.OUT_OF_STOCK)
