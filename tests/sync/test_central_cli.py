"""`cabinet-sim central` actions: each change is published once; bad input is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from proto.cabinet.v1 import sync_pb2
from sim.central.cli import main
from sim.central.db import CentralDb


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A central file seeded with the demo data (fast hashes)."""
    path = tmp_path / "central.db"
    from sim.central import catalog
    from sim.central.credentials import FAST_COST

    db = CentralDb(path)
    catalog.seed_demo(db, FAST_COST)
    db.close()
    return path


def latest(path: Path) -> tuple[int, str, bytes]:
    """(version, kind, body) of the last change."""
    db = CentralDb(path)
    try:
        version = db.latest_version()
        row = db.changes_after(version - 1, "*", 1)
        return version, row[0][2], row[0][3]
    finally:
        db.close()


def test_actions_publish_changes(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Add a user, change an order, move a pocket: one new version each, with the right body."""
    before = latest(db_path)[0]
    db = ["--db", str(db_path)]
    assert main(["add-user", "IDE-009", "Léa ROUX", "--roles", "nurse,pharmacist",
                 "--badge", "BADGE-9", "--pin", "9999", *db]) == 0  # fmt: skip
    version, kind, body = latest(db_path)
    user = sync_pb2.User.FromString(body)
    assert (version, kind) == (before + 1, "user")
    assert list(user.roles) == [sync_pb2.ROLE_NURSE, sync_pb2.ROLE_PHARMACIST]
    assert user.pin_hash.startswith("scrypt$") and "9999" not in user.pin_hash
    assert main(["change-order", "ORD-0003", "--dose", "2", "--status", "on_hold", *db]) == 0
    order = sync_pb2.Order.FromString(latest(db_path)[2])
    assert order.dose == 2 and order.status == sync_pb2.ORDER_STATUS_ON_HOLD
    assert main(["set-pocket", "1", "7", "3400891018615", "--par", "2", "--max", "8", *db]) == 0
    pocket = sync_pb2.PocketAssignment.FromString(latest(db_path)[2])
    assert (pocket.drawer, pocket.pocket, pocket.item_code) == (1, 7, "3400891018615")
    assert "version" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add-user", "U", "N", "--roles", "surgeon", "--badge", "B", "--pin", "1"], "roles"),
        (["cancel-order", "ORD-NOPE"], "no order 'ORD-NOPE'"),
        (["set-pocket", "0", "1", "NOT-AN-ITEM"], "no item 'NOT-AN-ITEM'"),
        (["set-pocket", "0", "1", "3400891018615", "--par", "9", "--max", "2"], "par 9"),
        (["add-order", "--id", "O", "--patient", "999", "--item", "3400891018615",
          "--dose", "1"], "no patient '999'"),
        (["change-order", "ORD-0001", "--dose", "0"], "at least 1"),
    ],
)  # fmt: skip
def test_bad_actions_change_nothing(
    db_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A refused action prints why, exits 1 and publishes nothing."""
    before = latest(db_path)[0]
    assert main([*argv, "--db", str(db_path)]) == 1
    assert message in capsys.readouterr().err
    assert latest(db_path)[0] == before


def test_register_cabinet_refuses_what_is_not_an_ed25519_key(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A certificate or garbage is not a ledger key."""
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    assert main(["register-cabinet", "CAB-X", str(bogus), "--db", str(db_path)]) == 1
    assert "PEM public key" in capsys.readouterr().err
