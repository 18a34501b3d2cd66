"""The register's signed file verifies, and fails verification after any one-byte change."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabinet.reports import Params
from cabinet.reports.cli import main
from cabinet.reports.signing import load_trusted_key, sign_document, verify_document
from cabinet.reports.validation import EXPORT_FORMAT, export_register
from cabinet.security.keys import load_or_create
from cabinet.store import open_read_only
from tests.reports.history import AS_OF, MORPH, History


@pytest.fixture
def signed(ward: History, tmp_path: Path) -> tuple[bytes, Path]:
    """The morphine register signed with a cabinet key, and that key's file."""
    key_path = tmp_path / "cabinet.key"
    key = load_or_create(key_path)
    conn = open_read_only(ward.path)
    try:
        data = export_register(conn, Params(now=AS_OF, item=MORPH), key, "CAB-TEST-01")
    finally:
        conn.close()
    return data, key_path


def test_signed_register_verifies_and_reads_back(signed: tuple[bytes, Path]) -> None:
    """The body is the register: format, cabinet, balances."""
    data, key_path = signed
    result = verify_document(data, load_trusted_key(key_path))
    assert result.ok, result.message
    assert result.document is not None
    assert result.document["format"] == EXPORT_FORMAT
    assert result.document["cabinet_id"] == "CAB-TEST-01"
    register = result.document["tables"]["register"]
    assert register["rows"][-1][register["columns"].index("balance")] == 5


def test_every_one_byte_change_fails_verification(signed: tuple[bytes, Path]) -> None:
    """Flip one bit, or replace one byte, anywhere in the file: never verifies."""
    data, key_path = signed
    trusted = load_trusted_key(key_path)
    for i in range(len(data)):
        for changed in (data[i] ^ 0x01, data[i] ^ 0x20):
            tampered = data[:i] + bytes([changed]) + data[i + 1 :]
            assert not verify_document(tampered, trusted).ok, f"byte {i} changed, still valid"
    assert not verify_document(data[:-1], trusted).ok
    assert not verify_document(data + b"\n", trusted).ok


def test_another_key_is_not_trusted(signed: tuple[bytes, Path], tmp_path: Path) -> None:
    """A file re-signed with another key fails against the cabinet's key."""
    data, key_path = signed
    forger = load_or_create(tmp_path / "other" / "cabinet.key")
    body = data[: data.rfind(b"\n#signature")]
    forged = sign_document(body.replace(b'"balance": 5', b'"balance": 6'), forger)
    result = verify_document(forged, load_trusted_key(key_path))
    assert not result.ok
    assert "another key" in result.message


def test_command_line_export_and_verify(
    ward: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--export FILE` then `cabinet report verify FILE`: 0; after a one-byte change: 1."""
    key_path = tmp_path / "cabinet.key"
    load_or_create(key_path)
    out = tmp_path / "register.signed"
    db = str(ward.path)
    assert (
        main(["report", "controlled", "--db", db, "--export", str(out), "--key", str(key_path)])
        == 0
    )
    assert main(["report", "verify", str(out), "--key", str(key_path.with_suffix(".pub"))]) == 0
    assert "OK" in capsys.readouterr().out
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x04
    out.write_bytes(bytes(data))
    assert main(["report", "verify", str(out), "--key", str(key_path)]) == 1
    assert "BAD SIGNATURE" in capsys.readouterr().out


def test_verify_without_any_trusted_key_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --key, no cabinet key, no store: a clear refusal, not a pass."""
    target = tmp_path / "register.signed"
    target.write_bytes(b"{}\n")
    assert main(["report", "verify", str(target), "--db", str(tmp_path / "none.db")]) == 2
    assert "no trusted key" in capsys.readouterr().err
