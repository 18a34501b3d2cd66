"""Validating the controlled register through a date, and exporting it signed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cabinet.reports import kinds
from cabinet.reports.formats import to_data
from cabinet.reports.model import Params, ReportError
from cabinet.reports.register import build_controlled
from cabinet.reports.register_sources import controlled_items
from cabinet.reports.signing import sign_document
from cabinet.store import NewEvent, Store
from cabinet.store.ledger import LedgerEvent

EXPORT_FORMAT = "cabinet-controlled-register/v1"


def validate_register(
    store: Store, through: dt.date, validated_by: str, item: str | None = None
) -> LedgerEvent:
    """Mark the register of every controlled item (or one) validated through `through`.

    The day must be over: validating today would refuse the rest of today's movements.
    Nothing before the date may change afterwards (the triggers of migration 0002).
    """
    today = store.clock.now().astimezone(dt.UTC).date()
    if through >= today:
        raise ReportError(
            f"--validate-through {through}: only a day that is over can be validated "
            f"(at most {today - dt.timedelta(days=1)})"
        )
    if not validated_by:
        raise ReportError("a register validation needs the name of who validates it")
    items = [code for code, _ in controlled_items(store.conn, item)]
    if not items:
        raise ReportError("there is no controlled item to validate")
    day = through.isoformat()
    for code in items:
        row = store.conn.execute(
            "SELECT MAX(through) FROM register_validations WHERE item_code = ?", (code,)
        ).fetchone()
        if row[0] is not None and str(row[0]) > day:
            raise ReportError(f"the register of {code} is already validated through {row[0]}")

    def insert(conn: sqlite3.Connection, event: LedgerEvent) -> None:
        """The validation rows commit with their ledger event."""
        conn.executemany(
            "INSERT INTO register_validations (item_code, through, validated_by, validated_at,"
            " ledger_seq) VALUES (?, ?, ?, ?, ?)",
            [(code, day, validated_by, event.at, event.seq) for code in items],
        )

    return store.record(
        NewEvent(
            kind=kinds.REGISTER_VALIDATED,
            actor=validated_by,
            payload={"through": day, "items": items},
        ),
        hook=insert,
    )


def export_register(
    conn: sqlite3.Connection, params: Params, key: Ed25519PrivateKey, cabinet_id: str
) -> bytes:
    """The register over the period as a signed file (see cabinet.reports.signing)."""
    document = to_data(build_controlled(conn, params))
    document["format"] = EXPORT_FORMAT
    document["cabinet_id"] = cabinet_id
    return sign_document(
        json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        ),
        key,
    )
