"""A cabinet-side process for kill tests: records events and syncs them until all are acked.

Run as `python -m tests.sync.cabinet_process STATE PKI PORT TARGET`. It appends events in small
transactions (with checkpoints) until the ledger holds TARGET events, while the real sync
service drains the outbox; it exits 0 once every event is acknowledged. Tests SIGKILL it at
random points and start it again.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cabinet.clock import SystemClock, iso
from cabinet.security import keys
from cabinet.store import NewEvent, Store, ledger
from cabinet.store import checkpoints as cps
from cabinet.sync import SyncService
from tests.sync.conftest import CABINET_A, cabinet_config

PER_TX = 25
CHECKPOINT_EVERY = 100


async def run(state: Path, folder: Path, port: int, target: int) -> int:
    """Record up to `target` events while syncing; return 0 when all are acknowledged."""
    clock = SystemClock()
    store = Store(state / "cabinet.db", clock)
    signer = cps.CheckpointSigner(keys.load_or_create(state / "cabinet.key"))
    config = cabinet_config(state, folder, port, CABINET_A, batch_size=300)
    service = SyncService(config, store, clock, public_key_pem=signer.public_pem())
    await service.start()
    try:
        while True:
            with store.transaction() as conn:
                seq = ledger.head(conn)[0]
                for _ in range(min(PER_TX, target - seq)):
                    event = ledger.append(
                        conn, NewEvent(kind="test_event", payload={"at": seq}), iso(clock.now())
                    )
                    if event.seq % CHECKPOINT_EVERY == 0:
                        cps.write(conn, signer, event.seq, event.hash, event.at)
            pending = store.conn.execute(
                "SELECT count(*) FROM outbox WHERE acked_at IS NULL"
            ).fetchone()[0]
            if seq >= target and pending == 0:
                return 0
            if service.uplink is not None:
                service.uplink.wake.set()  # direct appends bypass the store's listeners
            await asyncio.sleep(0.005)
    finally:
        await service.stop()
        store.close()


if __name__ == "__main__":
    state_dir, pki_dir, port_text, target_text = sys.argv[1:5]
    raise SystemExit(
        asyncio.run(run(Path(state_dir), Path(pki_dir), int(port_text), int(target_text)))
    )
