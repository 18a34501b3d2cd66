"""The simulated central's demo data is consistent and shaped like a French ward's."""

from __future__ import annotations

from sim import demo_data as d


def test_every_gtin_and_ucd_has_a_valid_gs1_check_digit() -> None:
    """A pack scan of any demo GTIN passes the reader's check-digit test."""
    for item in d.FORMULARY:
        assert len(item.code) == 13 and item.code.startswith("340089")
        assert d.gs1_check_digit(item.code[:-1]) == item.code[-1], item.name
        for gtin in item.gtins:
            assert len(gtin) == 14 and gtin.startswith("03400"), gtin
            assert d.gs1_check_digit(gtin[:-1]) == gtin[-1], gtin


def test_check_digit_matches_a_known_french_pack() -> None:
    """The GTIN of the design's example pack (01 0340093381675 9) checks out."""
    assert d.gs1_check_digit("0340093381675") == "9"
    assert d.gs1_check_digit("0340093381676") != "9"


def test_formulary_has_the_flags_and_lookalikes_a_ward_needs() -> None:
    """About 30 items; controlled, high-alert, refrigerated and tall-man pairs present."""
    assert 28 <= len(d.FORMULARY) <= 40
    names = {item.name for item in d.FORMULARY}
    assert {"hydrOXYzine", "hydrALAZINE", "DOBUTamine", "DOPamine"} <= names
    controlled = {i.name for i in d.FORMULARY if i.controlled}
    assert any("MORPHINE" in n for n in controlled) and "oxyCODONE" in controlled
    assert "FENTANYL" in controlled
    high = {i.name for i in d.FORMULARY if i.high_alert}
    assert {"HÉPARINE sodique", "POTASSIUM chlorure"} <= high
    assert any(n.startswith("INSULINE") for n in high)
    assert 2 <= sum(1 for i in d.FORMULARY if i.refrigerated) <= 5
    for item in d.FORMULARY:
        assert 0 < item.tolerance_cg < item.unit_weight_cg / 2, item.name


def test_pocket_plan_is_six_drawers_of_eight_and_a_return_bin() -> None:
    """48 pockets plus the return bin; every planned item exists; look-alikes are apart."""
    regular = [p for p in d.POCKET_PLAN if not p.return_bin]
    assert sorted((p.drawer, p.pocket) for p in regular) == [
        (dr, po) for dr in range(6) for po in range(8)
    ]
    bins = [p for p in d.POCKET_PLAN if p.return_bin]
    assert [(b.drawer, b.pocket, b.item_code) for b in bins] == [(6, 0, None)]
    drawer_of = {p.item_code: p.drawer for p in regular if p.item_code}
    assert set(drawer_of) == set(d.ITEMS_BY_CODE)
    for group in ("hydroxyzine-hydralazine", "prednisone-prednisolone", "clonidine-clonazepam"):
        drawers = {drawer_of[i.code] for i in d.FORMULARY if i.lookalike_group == group}
        assert len(drawers) == 2, group
    for p in regular:
        if p.item_code:
            assert 0 < p.par <= p.max and p.par <= p.demo_quantity <= p.max


def test_orders_users_and_override_list_hold_together() -> None:
    """Orders name known patients and items and are verified by a pharmacist; every role."""
    ipps = {p.ipp for p in d.PATIENTS}
    assert len(ipps) == 3
    pharmacists = {u.id for u in d.USERS if "pharmacist" in u.roles}
    kinds = set()
    for order in d.ORDERS:
        assert order.patient_ipp in ipps and order.item_code in d.ITEMS_BY_CODE
        assert order.verified_by in pharmacists
        kinds.add(order.kind)
        if order.kind == "prn":
            assert order.min_interval_minutes > 0 and order.daily_max
        else:
            assert order.times
    assert kinds == {"scheduled", "prn"}
    roles = {r for u in d.USERS for r in u.roles}
    assert roles == {"nurse", "pharmacist", "technician", "auditor", "admin"}
    assert len({u.badge for u in d.USERS}) == len(d.USERS)
    assert all(code in d.ITEMS_BY_CODE for code in d.OVERRIDE_LIST)
