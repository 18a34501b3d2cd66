"""Shared pieces of the sync tests: a site PKI, a central on a free port, a cabinet store."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cabinet.clock import DrivenClock, SystemClock, iso
from cabinet.config import CabinetSection, CentralSection, Config, StoreSection
from cabinet.security import keys, pki
from cabinet.store import NewEvent, Store, ledger
from cabinet.store import checkpoints as cps
from sim.central.db import CentralDb
from sim.central.intake import Faults
from sim.central.server import CentralOptions, RunningCentral, start

CABINET_A = "CAB-A"
CABINET_B = "CAB-B"


@pytest.fixture(scope="session")
def site_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site CA, the central's certificate (localhost, 127.0.0.1) and cabinets A and B."""
    folder = tmp_path_factory.mktemp("pki")
    pki.init_site(folder, [CABINET_A, CABINET_B])
    return folder


def cabinet_config(
    state: Path, folder: Path, port: int, cabinet_id: str = CABINET_A, **central: Any
) -> Config:
    """A cabinet's configuration pointing at a central on `port` with mutual TLS."""
    cert, key = pki.cabinet_cert_names(cabinet_id)
    settings: dict[str, Any] = {
        "address": f"localhost:{port}",
        "ca_file": folder / pki.CA_CERT,
        "cert_file": folder / cert,
        "key_file": folder / key,
        "deadline_s": 2.0,
        "batch_size": 500,
        "backoff_initial_s": 0.02,
        "backoff_max_s": 0.2,
        "heartbeat_s": 1.0,
    }
    settings.update(central)
    return Config(
        cabinet=CabinetSection(id=cabinet_id),
        central=CentralSection(**settings),
        store=StoreSection(state_dir=state),
    )


class Cabinet:
    """A cabinet's store, signing key and configuration, as the daemon would hold them."""

    def __init__(self, state: Path, clock: Any) -> None:
        """Open the cabinet's store and its ledger key in `state`."""
        self.state = state
        self.clock = clock
        self.store = Store(state / "cabinet.db", clock)
        self.key = keys.load_or_create(state / "cabinet.key")
        self.signer = cps.CheckpointSigner(self.key)

    @property
    def public_pem(self) -> str:
        """The ledger key's public half, as registered with the central."""
        return self.signer.public_pem()

    def fill(self, count: int, *, checkpoint_every: int = 100, per_tx: int = 500) -> None:
        """Append `count` events (few commits: fast), signing a checkpoint every N events."""
        done = 0
        while done < count:
            with self.store.transaction() as conn:
                for _ in range(min(per_tx, count - done)):
                    event = ledger.append(
                        conn,
                        NewEvent(kind="test_event", actor="IDE-001", payload={"n": done}),
                        iso(self.clock.now()),
                    )
                    if event.seq % checkpoint_every == 0:
                        cps.write(conn, self.signer, event.seq, event.hash, event.at)
                    done += 1

    def pending(self) -> int:
        """Outbox rows not acknowledged."""
        row = self.store.conn.execute(
            "SELECT count(*) FROM outbox WHERE acked_at IS NULL"
        ).fetchone()
        return int(row[0])

    def hashes(self) -> list[tuple[int, str]]:
        """Every (seq, hash) of the ledger."""
        rows = self.store.conn.execute("SELECT seq, hash FROM ledger ORDER BY seq").fetchall()
        return [(int(s), str(h)) for s, h in rows]


@pytest.fixture
def cabinet_factory(tmp_path: Path) -> Iterator[Callable[..., Cabinet]]:
    """Make cabinets in their own state folders; close their stores afterwards."""
    made: list[Cabinet] = []

    def make(name: str = "cab", clock: Any = None) -> Cabinet:
        cabinet = Cabinet(tmp_path / name, clock or SystemClock())
        made.append(cabinet)
        return cabinet

    yield make
    for cabinet in made:
        cabinet.store.close()


class CentralHarness:
    """Starts, crashes and restarts an in-process central on one port and one file."""

    def __init__(self, db_path: Path, tls_dir: Path) -> None:
        """A central on `db_path` with the site's TLS files."""
        self.db = CentralDb(db_path)
        self.tls_dir = tls_dir
        self.faults = Faults()
        self.port = 0
        self.running: RunningCentral | None = None

    async def start(self, **options: Any) -> RunningCentral:
        """Serve (on the same port as before, once one was chosen)."""
        opts = CentralOptions(
            db_path=self.db.path, port=self.port, tls_dir=self.tls_dir, faults=self.faults
        )
        self.running = await start(dataclasses.replace(opts, **options), self.db)
        self.port = self.running.port
        return self.running

    async def stop(self) -> None:
        """Stop serving at once."""
        if self.running is not None:
            await self.running.stop(None)
            self.running = None


@pytest.fixture
async def central(tmp_path: Path, site_pki: Path) -> AsyncIterator[CentralHarness]:
    """An in-process central (not started yet) with mutual TLS from the site PKI."""
    harness = CentralHarness(tmp_path / "central.db", site_pki)
    try:
        yield harness
    finally:
        await harness.stop()
        harness.db.close()


@pytest.fixture
def driven_clock() -> DrivenClock:
    """A clock the test moves."""
    return DrivenClock()


async def eventually(predicate: Callable[[], bool], within: float, what: str) -> None:
    """Poll until `predicate` holds, or fail naming what did not happen."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
