"""`cabinet-sim central` as a real process: killed mid-batch, restarted, driven by its CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cabinet.security import pki
from cabinet.sync import SyncService
from sim.central.db import CentralDb
from tests.sync.conftest import CABINET_A, Cabinet, cabinet_config, eventually

ROOT = Path(__file__).resolve().parents[2]


def sim_command(*args: str) -> list[str]:
    """`cabinet-sim …` through the module, so the test needs no installed script."""
    return [sys.executable, "-m", "sim.cli", *args]


def cli(db: Path, *args: str) -> str:
    """Run one `cabinet-sim central ACTION` against the running central's file."""
    done = subprocess.run(
        sim_command("central", *args, "--db", str(db)),
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


class CentralProcess:
    """Starts the simulated central as a subprocess and always stops it."""

    def __init__(self, db: Path, tls_dir: Path, port_file: Path) -> None:
        """Remember where the central keeps its file, TLS and port."""
        self.db, self.tls_dir, self.port_file = db, tls_dir, port_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    async def start(self, *extra: str) -> None:
        """Start and wait until the port is announced."""
        self.port_file.unlink(missing_ok=True)
        self.proc = self._spawn(*extra)
        await eventually(
            lambda: self.port_file.exists() or self.proc is None or self.proc.poll() is not None,
            30, "the central to listen",
        )  # fmt: skip
        assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else b""
        self.port = int(self.port_file.read_text())

    def _spawn(self, *extra: str) -> subprocess.Popen[bytes]:
        """The central's process, announcing its port in the port file."""
        return subprocess.Popen(
            sim_command("central", "--db", str(self.db), "--port", str(self.port),
                        "--tls-dir", str(self.tls_dir), "--fast-hashes",
                        "--port-file", str(self.port_file), *extra),
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; return its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        code = self.proc.returncode
        self.proc = None
        return code


@pytest.fixture
def central_process(tmp_path: Path, site_pki: Path) -> Iterator[CentralProcess]:
    """A central process on its own file; stopped whatever happens."""
    process = CentralProcess(tmp_path / "central.db", site_pki, tmp_path / "port")
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.slow
async def test_central_process_dies_mid_batch_and_is_driven_by_its_cli(
    central_process: CentralProcess, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """Exit 70 after storing part of a push; restarted, it gets the rest once; CLI changes flow."""
    cabinet = cabinet_factory()
    cabinet.fill(3000)
    (cabinet.state / "cabinet.pub").write_text(cabinet.public_pem)
    await central_process.start("--fault-crash-after-events", "300")
    db = central_process.db
    assert "registered" in cli(
        db, "register-cabinet", CABINET_A, str(cabinet.state / "cabinet.pub")
    )
    config = cabinet_config(cabinet.state, site_pki, central_process.port, batch_size=1000)
    service = SyncService(config, cabinet.store, cabinet.clock)
    await service.start()
    try:
        proc = central_process.proc
        assert proc is not None
        await eventually(lambda: proc.poll() is not None, 20, "the central to die mid-batch")
        assert central_process.stop() == 70
        reader = CentralDb(db)
        try:
            assert reader.head(CABINET_A)[0] == 300 and cabinet.pending() == 3000
        finally:
            reader.close()
        await central_process.start()
        await eventually(lambda: cabinet.pending() == 0, 30, "the outbox to drain")

        ca = (site_pki / pki.CA_CERT).read_bytes()
        cert, key = pki.cabinet_cert_names(CABINET_A)
        creds = grpc.ssl_channel_credentials(
            ca, (site_pki / key).read_bytes(), (site_pki / cert).read_bytes()
        )
        async with grpc.aio.secure_channel(f"localhost:{central_process.port}", creds) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            answer = await health.Check(
                health_pb2.HealthCheckRequest(service="cabinet.v1.CentralPharmacy"), timeout=5
            )
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            reflect = reflection_pb2_grpc.ServerReflectionStub(ch)
            call = reflect.ServerReflectionInfo(timeout=5)
            await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
            await call.done_writing()
            listed = [s.name async for r in call for s in r.list_services_response.service]
            assert "cabinet.v1.CentralPharmacy" in listed

        latest = int(cli(db, "status", CABINET_A).split("change log at version ")[1])
        await eventually(lambda: service.state().applied_version == latest, 10, "the catalog")
        # The CLI runs in a thread: the cabinet's loop keeps serving meanwhile.
        await asyncio.to_thread(
            cli, db, "add-order", "--id", "ORD-CLI", "--patient", "8001234569", "--item",
            "3400893678534", "--dose", "1", "--kind", "prn", "--min-interval-minutes", "240",
            "--daily-max", "4",
        )  # fmt: skip
        await eventually(lambda: _status(cabinet, "ORD-CLI") == "active", 2.0, "the new order")
        await asyncio.to_thread(cli, db, "cancel-order", "ORD-CLI")
        await eventually(lambda: _status(cabinet, "ORD-CLI") == "cancelled", 2.0, "the cancel")
        await asyncio.sleep(1.2)  # one heartbeat period
        assert "outbox 0" in cli(db, "status", CABINET_A)
    finally:
        await service.stop()
    assert central_process.stop() == 0  # SIGTERM: a clean stop
    reader = CentralDb(db)
    try:
        assert reader.events(CABINET_A) == cabinet.hashes()
    finally:
        reader.close()


def _status(cabinet: Cabinet, order_id: str) -> str | None:
    """An order's status in the cabinet's store."""
    row = cabinet.store.conn.execute(
        "SELECT status FROM orders WHERE id = ?", (order_id,)
    ).fetchone()
    return None if row is None else str(row[0])
