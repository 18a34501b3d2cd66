"""The committed generated gRPC code is exactly what `make proto` produces from sync.proto."""

from __future__ import annotations

from pathlib import Path

from proto import generate


def test_committed_generated_code_is_not_stale(tmp_path: Path) -> None:
    """Regenerate into a temporary folder and compare byte for byte with the committed files."""
    written = generate.generate(tmp_path)
    assert written, "no .proto file found under proto/"
    stale = [
        str(rel)
        for rel in written
        if not (generate.ROOT / rel).exists()
        or (generate.ROOT / rel).read_bytes() != (tmp_path / rel).read_bytes()
    ]
    assert not stale, f"generated code is stale, run `make proto`: {stale}"


def test_generated_modules_import_inside_our_package() -> None:
    """The generated service module imports its messages as proto.cabinet.v1.sync_pb2."""
    grpc_module = (generate.ROOT / "proto/cabinet/v1/sync_pb2_grpc.py").read_text()
    assert "from proto.cabinet.v1 import sync_pb2" in grpc_module
    from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc

    assert sync_pb2.DESCRIPTOR.package == "cabinet.v1"
    assert hasattr(sync_pb2_grpc, "CentralPharmacyStub")
