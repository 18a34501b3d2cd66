"""Over synthetic ward histories, the register's balances agree with the stock in the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench.gen_history import generate
from cabinet.reports import Params, build
from cabinet.store import open_read_only


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_closing_balances_are_the_stock_and_periods_chain(tmp_path: Path, seed: int) -> None:
    """Closing = pockets + the item's share of the return bin; each period opens where the
    previous one closed; entries minus exits move the balance from opening to closing."""
    db = tmp_path / "cabinet.db"
    generate(db, 3_000, seed=seed, days=10)
    conn = open_read_only(db)
    try:
        in_bin = dict(
            conn.execute(
                "SELECT item_code, SUM(quantity) FROM ledger WHERE drawer = 6 AND pocket = 0"
                " GROUP BY item_code"
            ).fetchall()
        )
        whole = build("controlled", conn, Params())
        split = dt.date(2025, 11, 6)
        first = build("controlled", conn, Params(date_to=split - dt.timedelta(days=1)))
        second = build("controlled", conn, Params(date_from=split))
    finally:
        conn.close()
    rows = {r["item"]: r for r in whole.table("items").as_dicts()}
    assert len(rows) == 6
    for code, row in rows.items():
        assert row["closing"] == row["in_pockets_now"] + int(in_bin.get(code) or 0), code
        assert row["closing"] - row["opening"] == row["entries"] - row["exits"], code
    before = {r["item"]: r for r in first.table("items").as_dicts()}
    after = {r["item"]: r for r in second.table("items").as_dicts()}
    for code in rows:
        assert after[code]["opening"] == before[code]["closing"], code
        assert after[code]["closing"] == rows[code]["closing"], code
    notes = [line for line in whole.table("register").as_dicts() if line["note"]]
    assert not [n for n in notes if "jumps" in str(n["note"])]
