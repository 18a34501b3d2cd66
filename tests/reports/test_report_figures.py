"""Each report on the fixed ward history gives the figures worked out by hand, in every format."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cabinet.clock import DrivenClock
from cabinet.reports import FORMATS, Params, build, render
from cabinet.reports.formats import parse_csv, parse_json
from cabinet.reports.html import parse_html_tables
from cabinet.reports.model import Report
from cabinet.store import Movement, MovementKind, Store, open_read_only
from tests.reports.history import AS_OF, MORPH, OXY, PARA, UNIT, History


@pytest.fixture
def conn(ward: History) -> Iterator[sqlite3.Connection]:
    """A read-only connection, as the command line and the UI use."""
    c = open_read_only(ward.path)
    yield c
    c.close()


def params(**kw: Any) -> Params:
    """Parameters as of the end of the history."""
    return Params(now=AS_OF, unit=UNIT, **kw)


def text_rows(report: Report, table: str) -> list[dict[str, str]]:
    """A table's rows as text, the way CSV and HTML carry them."""
    return [
        {k: "" if v is None else str(v) for k, v in row.items()}
        for row in report.table(table).as_dicts()
    ]


def in_every_format(conn: sqlite3.Connection, name: str, p: Params) -> dict[str, Any]:
    """Render in each format and read each back; all must hold the same rows."""
    report = build(name, conn, p)
    out: dict[str, Any] = {"report": report}
    for fmt in FORMATS:
        out[fmt] = render(name, conn, p, fmt)
    csv_tables = parse_csv(out["csv"])
    json_tables = parse_json(out["json"])
    html_tables = parse_html_tables(out["html"])
    for table in report.tables:
        assert csv_tables[table.name] == text_rows(report, table.name), table.name
        assert json_tables[table.name] == table.as_dicts(), table.name
        assert html_tables[table.name] == text_rows(report, table.name), table.name
    summary = {row["key"]: row["value"] for row in csv_tables["summary"]}
    assert summary == {k: "" if v is None else str(v) for k, v in report.summary.items()}
    assert json.loads(out["json"])["summary"] == report.summary
    for key, value in report.summary.items():
        assert f"{key}: {'' if value is None else value}" in out["table"]
    return out


def column(rows: list[dict[str, Any]], key: str) -> list[Any]:
    """One column of a list of rows."""
    return [row[key] for row in rows]


def test_stock_gives_the_refill_list(conn: sqlite3.Connection) -> None:
    """Morphine 4 of par 5 max 20 needs 16; oxycodone 4 of par 5 max 8 needs 4."""
    out = in_every_format(conn, "stock", params())
    refill = parse_csv(out["csv"])["refill"]
    assert [(r["item"], r["quantity"], r["to_bring"]) for r in refill] == [
        (MORPH, "4", "16"),
        (OXY, "4", "4"),
    ]
    assert out["report"].summary["units_to_bring"] == 20
    lots = parse_json(out["json"])["lots"]
    assert {(r["lot"], r["expiry"], r["quantity"]) for r in lots} == {
        ("M1", "2026-11-20", 4),
        ("P1", "2027-06-30", 14),
        ("X1", "2026-12-31", 4),
        ("G0", "2026-11-01", 3),
    }
    assert "16" in out["table"].split("Refill list")[1]


def test_expiry_finds_the_expiring_and_the_expired_lots(conn: sqlite3.Connection) -> None:
    """As of 5 November: M1 has 15 days left; G0 expired 4 days ago and is still there."""
    out = in_every_format(conn, "expiry", params())
    tables = parse_json(out["json"])
    assert [(r["lot"], r["quantity"], r["days_left"]) for r in tables["expiring"]] == [
        ("M1", 4, 15)
    ]
    assert [(r["lot"], r["quantity"], r["days_left"]) for r in tables["expired"]] == [("G0", 3, -4)]
    short = build("expiry", conn, params(days=10))
    assert short.table("expiring").rows == []


def test_discrepancies_open_and_resolved(conn: sqlite3.Connection) -> None:
    """One resolved morphine count with its reason and witness, one open paracetamol count."""
    out = in_every_format(conn, "discrepancies", params())
    rows = parse_csv(out["csv"])["discrepancies"]
    assert [(r["item"], r["status"], r["difference"], r["witness"]) for r in rows] == [
        (MORPH, "resolved", "-1", "n2"),
        (PARA, "open", "1", ""),
    ]
    assert rows[0]["reason"] == "count error confirmed"
    assert out["report"].summary == {"open": 1, "resolved": 1, "units_missing": 1, "units_extra": 1}
    by_user = parse_json(out["json"])["by_user"]
    assert {(r["user"], r["open"], r["resolved"]) for r in by_user} == {("n2", 1, 0), ("n4", 0, 1)}


def test_overrides_rate_and_what_awaits(conn: sqlite3.Connection, ward: History) -> None:
    """Two overrides against eleven order dispenses: 2/13; one awaits review, one an order."""
    out = in_every_format(conn, "overrides", params())
    summary = out["report"].summary
    assert summary["overrides"] == 2
    assert summary["order_dispenses"] == 11
    assert summary["override_rate"] == round(2 / 13, 4)
    tables = parse_json(out["json"])
    assert column(tables["awaiting_review"], "seq") == [ward.seqs["override_oxy"]]
    assert column(tables["awaiting_order"], "seq") == [ward.seqs["override_para"]]
    assert {(r["unit"], r["overrides"]) for r in tables["by_unit"]} == {(UNIT, 2)}
    assert "override_rate: 0.1538" in out["table"]


def test_controlled_register_running_balances(conn: sqlite3.Connection) -> None:
    """Morphine: 20 in, 14 dispensed, 1 wasted, a count 1 short corrected, 1 returned."""
    out = in_every_format(conn, "controlled", params())
    register = parse_csv(out["csv"])["register"]
    morphine = [r for r in register if r["item"] == MORPH]
    assert column(morphine, "balance") == [
        "20",
        "19",
        "17",
        "16",
        "14",
        "12",
        "10",
        "8",
        "6",
        "5",
        "5",
        "4",
        "4",
        "5",
    ]
    count = next(r for r in morphine if r["kind"] == "discrepancy")
    assert (count["expected"], count["counted"], count["difference"]) == ("5", "4", "-1")
    assert count["note"] == "count_mismatch"
    blind = morphine[1]
    assert (blind["expected"], blind["counted"], blind["difference"]) == ("20", "20", "0")
    waste = next(r for r in morphine if r["kind"] == "waste")
    assert (waste["user"], waste["witness"], waste["exit"]) == ("n1", "n2", "1")
    oxycodone = [r for r in register if r["item"] == OXY]
    assert column(oxycodone, "balance") == ["6", "5", "5", "5", "4"]
    assert [r["wasted"] for r in oxycodone if r["kind"] == "waste"] == ["1"]
    counts = parse_json(out["json"])["counts"]
    assert [(r["item"], r["kind"], r["difference"]) for r in counts] == [
        (MORPH, "discrepancy", -1),
        (OXY, "count", 0),
    ]
    items = {r["item"]: r for r in parse_json(out["json"])["items"]}
    assert (items[MORPH]["opening"], items[MORPH]["entries"], items[MORPH]["exits"]) == (0, 21, 16)
    assert items[MORPH]["closing"] == 5
    assert PARA not in items
    html_register = parse_html_tables(out["html"])["register"]
    assert column([r for r in html_register if r["item"] == MORPH], "balance")[-1] == "5"


def test_controlled_register_opens_with_the_balance_before_the_period(
    conn: sqlite3.Connection,
) -> None:
    """From 4 November the morphine register opens at 6, the balance left on 3 November."""
    report = build("controlled", conn, params(date_from=dt.date(2026, 11, 4), item=MORPH))
    assert report.table("items").as_dicts()[0]["opening"] == 6
    assert [r["balance"] for r in report.table("register").as_dicts()] == [5, 5, 4, 4, 5]


def test_activity_by_patient_user_and_item(conn: sqlite3.Connection) -> None:
    """Thirteen dispenses of 22 units; n5 made five of them, 9 units."""
    out = in_every_format(conn, "activity", params())
    tables = parse_json(out["json"])
    assert tables["by_user"][0] == {"user": "n5", "dispenses": 5, "units": 9}
    assert {r["patient"]: r["units"] for r in tables["by_patient"]} == {"P1": 16, "P2": 6}
    assert {r["item"]: r["dispenses"] for r in tables["by_item"]} == {MORPH: 8, PARA: 3, OXY: 2}
    one_day = build(
        "activity", conn, params(date_from=dt.date(2026, 11, 4), date_to=dt.date(2026, 11, 4))
    )
    assert one_day.summary["dispenses"] == 2


def test_anomalies_flag_the_heavy_user_with_the_statistic(conn: sqlite3.Connection) -> None:
    """n5 withdrew 9 controlled units where the median is 2 and the MAD 1: z = 4.72."""
    out = in_every_format(conn, "anomalies", params())
    flagged = parse_csv(out["csv"])["flagged"]
    assert [
        (r["user"], r["units_withdrawn"], r["z_withdrawn"], r["flagged_for"]) for r in flagged
    ] == [("n5", "9", "4.72", "withdrawals")]
    assert "0.6745" in out["html"]
    assert build("anomalies", conn, params(threshold=5.0)).table("flagged").rows == []


def test_ledger_summary_verifies_the_chain(conn: sqlite3.Connection) -> None:
    """Twenty-seven events, chain intact; thirteen of them dispenses."""
    out = in_every_format(conn, "ledger", params())
    summary = out["report"].summary
    assert summary["ok"] == "yes"
    assert summary["events_in_period"] == 27
    by_kind = {r["kind"]: r["events"] for r in parse_json(out["json"])["by_kind"]}
    assert by_kind["dispense"] == 13


@pytest.mark.parametrize("name", ["stock", "controlled", "activity", "anomalies"])
def test_html_is_one_self_contained_printable_file(conn: sqlite3.Connection, name: str) -> None:
    """Charts inline, A4 print rules, nothing fetched from anywhere."""
    page = render(name, conn, params(), "html")
    assert "<svg" in page
    assert "@page{size:A4" in page
    for outside in ("<script", "<link", "src=", "href=", "url(", "@import"):
        assert outside not in page


def test_unknown_report_and_format_are_refused(conn: sqlite3.Connection) -> None:
    """A clear error, nothing rendered."""
    from cabinet.reports import ReportError

    with pytest.raises(ReportError, match="no report"):
        render("everything", conn, params(), "json")
    with pytest.raises(ReportError, match="no format"):
        render("stock", conn, params(), "pdf")
    with pytest.raises(ReportError, match="after"):
        render(
            "activity",
            conn,
            params(date_from=dt.date(2026, 11, 5), date_to=dt.date(2026, 11, 1)),
            "json",
        )


def test_register_counts_only_the_item_s_share_of_the_return_bin(fresh_ward: History) -> None:
    """An oxycodone return joins a morphine return in the bin: each register sees its own."""
    clock = DrivenClock(AS_OF)
    store = Store(fresh_ward.path, clock)
    try:
        store.move(
            Movement(
                kind=MovementKind.RETURN,
                drawer=1,
                pocket=0,
                delta=1,
                actor="n2",
                item_code=OXY,
                patient_id="P1",
            )
        )
    finally:
        store.close()
    conn = open_read_only(fresh_ward.path)
    try:
        report = build("controlled", conn, params(date_from=dt.date(2026, 11, 5)))
    finally:
        conn.close()
    items = {r["item"]: r for r in report.table("items").as_dicts()}
    assert (items[MORPH]["opening"], items[MORPH]["closing"]) == (5, 5)
    assert (items[OXY]["opening"], items[OXY]["closing"]) == (5, 5)
    oxy_return = report.table("register").as_dicts()[-1]
    assert (oxy_return["kind"], oxy_return["balance"], oxy_return["pocket_balance"]) == (
        "return",
        5,
        1,
    )


def test_ui_parameters_are_checked(conn: sqlite3.Connection) -> None:
    """The UI's text fields become parameters, or a clear refusal."""
    from cabinet.reports import ReportError, params_from

    p = params_from({"from": "2026-11-04", "to": "2026-11-04", "days": "10"}, now=AS_OF, unit=UNIT)
    assert build("activity", conn, p).summary["dispenses"] == 2
    assert p.days == 10
    for bad in ({"from": "04/11/2026"}, {"days": "ten"}, {"format": "pdf"}):
        with pytest.raises(ReportError):
            params_from(bad, now=AS_OF)


def test_a_store_the_reports_cannot_read_is_a_clear_refusal(tmp_path: Path) -> None:
    """A store without the report tables (an old schema) gives one line, not a traceback."""
    import sqlite3 as sq

    from cabinet.reports import ReportError

    db = tmp_path / "old.db"
    raw = sq.connect(db)
    raw.execute("CREATE TABLE ledger (seq INTEGER PRIMARY KEY)")
    raw.close()
    conn = sq.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    try:
        with pytest.raises(ReportError, match="cannot read the store for the activity report"):
            render("activity", conn, params(), "json")
    finally:
        conn.close()
