"""An intruder with the sqlite3 shell edits the ledger; `cabinet ledger verify` names where."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cabinet import cli
from cabinet.clock import DrivenClock
from cabinet.store import Store
from cabinet.store.ledger import HASHED_FIELDS, LEDGER_COLUMNS, event_hash
from tests.foundation.helpers import dispense, raw

EVENTS = 35  # checkpoints are signed at 10, 20, 30 and, at stop, 35


@pytest.fixture
def ledger_db(store: Store, state: Path, clock: DrivenClock) -> Path:
    """A closed store whose ledger holds 35 dispenses and 4 signed checkpoints."""
    for i in range(EVENTS):
        clock.advance(60)
        dispense(store, pocket=i % 3)
    store.checkpoint()
    store.close()
    return state / "cabinet.db"


def _edit(conn: sqlite3.Connection) -> None:
    """Change the quantity of event 12."""
    conn.execute("UPDATE ledger SET quantity = -2 WHERE seq = 12")


def _edit_and_rehash(conn: sqlite3.Connection) -> None:
    """Change event 12's actor and recompute its hash."""
    row = conn.execute(f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE seq = 12").fetchone()
    fields = dict(zip(HASHED_FIELDS, row[:-1], strict=True))
    fields["actor"] = "someone-else"
    conn.execute(
        "UPDATE ledger SET actor = ?, hash = ? WHERE seq = 12",
        (fields["actor"], event_hash(fields)),
    )


def _delete(conn: sqlite3.Connection) -> None:
    """Remove event 17 and its outbox row."""
    conn.execute("DELETE FROM outbox WHERE seq = 17")
    conn.execute("DELETE FROM ledger WHERE seq = 17")


def _delete_and_renumber(conn: sqlite3.Connection) -> None:
    """Remove event 17 and close the gap."""
    _delete(conn)
    conn.execute("UPDATE ledger SET seq = -seq WHERE seq > 17")
    conn.execute("UPDATE ledger SET seq = -seq - 1 WHERE seq < 0")


def _reorder(conn: sqlite3.Connection) -> None:
    """Swap events 22 and 23."""
    conn.execute("UPDATE ledger SET seq = -1 WHERE seq = 22")
    conn.execute("UPDATE ledger SET seq = 22 WHERE seq = 23")
    conn.execute("UPDATE ledger SET seq = 23 WHERE seq = -1")


def _swap_far(conn: sqlite3.Connection) -> None:
    """Swap events 5 and 29."""
    conn.execute("UPDATE ledger SET seq = -1 WHERE seq = 5")
    conn.execute("UPDATE ledger SET seq = 5 WHERE seq = 29")
    conn.execute("UPDATE ledger SET seq = 29 WHERE seq = -1")


def _truncate_tail(conn: sqlite3.Connection) -> None:
    """Cut every event after 30 (the last checkpoint is 35)."""
    conn.execute("DELETE FROM outbox WHERE seq > 30")
    conn.execute("DELETE FROM ledger WHERE seq > 30")


def _truncate_tail_keep_outbox(conn: sqlite3.Connection) -> None:
    """Cut the tail and its checkpoint, leave the outbox rows."""
    conn.execute("DELETE FROM checkpoints WHERE seq > 30")
    conn.execute("DELETE FROM ledger WHERE seq > 33")


def _bad_signature(conn: sqlite3.Connection) -> None:
    """Flip a digit of checkpoint 20's signature."""
    sig = conn.execute("SELECT signature FROM checkpoints WHERE seq = 20").fetchone()[0]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    conn.execute("UPDATE checkpoints SET signature = ? WHERE seq = 20", (flipped,))


def _forged_checkpoint(conn: sqlite3.Connection) -> None:
    """Replace checkpoint 30's hash."""
    conn.execute("UPDATE checkpoints SET hash = ? WHERE seq = 30", ("f" * 64,))


def _rewrite_last_event(conn: sqlite3.Connection) -> None:
    """Change the last event's patient and recompute its hash."""
    row = conn.execute(f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE seq = 35").fetchone()
    fields = dict(zip(HASHED_FIELDS, row[:-1], strict=True))
    fields["patient_id"] = "IPP-OTHER"
    conn.execute(
        "UPDATE ledger SET patient_id = ?, hash = ? WHERE seq = 35",
        (fields["patient_id"], event_hash(fields)),
    )


TAMPERING: list[tuple[str, Callable[[sqlite3.Connection], None], int, str]] = [
    ("edited quantity", _edit, 12, "edited"),
    ("edited and rehashed", _edit_and_rehash, 12, "edited"),
    ("deleted row", _delete, 17, "deleted"),
    ("deleted, later rows renumbered", _delete_and_renumber, 17, "deleted"),
    ("two rows swapped", _reorder, 22, "reordered"),
    ("rows 5 and 29 swapped", _swap_far, 5, "reordered"),
    ("tail cut behind the last checkpoint", _truncate_tail, 31, "truncated after checkpoint"),
    ("tail cut, checkpoint too", _truncate_tail_keep_outbox, 34, "truncated after checkpoint"),
    ("checkpoint signature altered", _bad_signature, 20, "bad signature"),
    ("checkpoint hash altered", _forged_checkpoint, 30, "bad signature"),
    ("last event rewritten and rehashed", _rewrite_last_event, 35, "edited"),
]


def test_an_untouched_ledger_verifies(ledger_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The honest ledger: OK with its count, exit 0."""
    assert cli.main(["ledger", "verify", "--db", str(ledger_db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 35 events")
    assert "4 signed checkpoints verified" in out


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [pytest.param(t, s, r, id=name) for name, t, s, r in TAMPERING],
)
def test_tampering_is_reported_at_its_sequence(
    ledger_db: Path,
    tamper: Callable[[sqlite3.Connection], None],
    seq: int,
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each edit made directly in SQLite names the first broken sequence and why; exit 1."""
    conn = raw(ledger_db)
    tamper(conn)
    conn.close()
    assert cli.main(["ledger", "verify", "--db", str(ledger_db)]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"BROKEN at sequence {seq}: {reason} ("), out


def test_the_installed_command_exits_one_on_a_broken_ledger(ledger_db: Path) -> None:
    """The `cabinet` console script itself, as an auditor runs it."""
    conn = raw(ledger_db)
    _reorder(conn)
    conn.close()
    done = subprocess.run(
        [sys.executable, "-m", "cabinet.cli", "ledger", "verify", "--db", str(ledger_db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.startswith("BROKEN at sequence 22: reordered")


def test_a_foreign_public_key_fails_every_signature(
    ledger_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked against another cabinet's key, the first checkpoint is refused."""
    from cabinet.security.keys import load_or_create, public_path

    load_or_create(tmp_path / "other.key")
    code = cli.main(
        [
            "ledger",
            "verify",
            "--db",
            str(ledger_db),
            "--public-key",
            str(public_path(tmp_path / "other.key")),
        ]
    )
    assert code == 1
    assert capsys.readouterr().out.startswith("BROKEN at sequence 10: bad signature")


def test_the_append_only_triggers_refuse_edits(ledger_db: Path) -> None:
    """Without dropping the triggers, UPDATE and DELETE on the ledger are refused."""
    conn = sqlite3.connect(ledger_db, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE ledger SET quantity = 5 WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM ledger WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM checkpoints")
    conn.close()
