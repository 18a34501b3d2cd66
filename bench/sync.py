"""Outbox drain after an outage: 100,000 queued events to the central, against bare gRPC.

Ours: the cabinet's real sync service drains a store of 100,000 unacknowledged events to the
real simulated central (`cabinet-sim central`, its own process, mutual TLS), which verifies
every hash, the chain and the signed checkpoints and stores every event durably; each batch is
acknowledged in the cabinet's store. Baselines, in the same run, over the same mutual TLS to a
bare server process that stores and checks nothing: (1) a client stream of the same 100,000
LedgerEvent messages, one per stream message, already built in memory (the target baseline);
(2) for information, the same messages in unary calls of the same batch size.

    .venv/bin/python bench/sync.py [--events N] [--batch N]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from common import ROOT, emit

from cabinet.clock import SystemClock, iso
from cabinet.config import CabinetSection, CentralSection, Config, StoreSection
from cabinet.security import keys, pki
from cabinet.store import NewEvent, Store, ledger, open_read_only
from cabinet.store import checkpoints as cps
from cabinet.sync import SyncService
from cabinet.sync.outbox import Outbox
from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc

CABINET = "CAB-BENCH"
STREAM_METHOD = "/bench.Bare/Stream"


# -- the bare server (its own process) ---------------------------------------------------------
async def _bare_push(
    request: sync_pb2.PushEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
) -> sync_pb2.PushEventsResponse:
    """Acknowledge a push without looking: no check, no storage."""
    last = request.events[-1].seq if request.events else 0
    return sync_pb2.PushEventsResponse(highest_contiguous_seq=last)


async def _bare_stream(
    requests: AsyncIterator[sync_pb2.LedgerEvent], context: grpc.aio.ServicerContext[Any, Any]
) -> sync_pb2.PushEventsResponse:
    """Count the streamed events; answer the last sequence."""
    last = 0
    async for event in requests:
        last = event.seq
    return sync_pb2.PushEventsResponse(highest_contiguous_seq=last)


async def serve_bare(tls_dir: Path, port_file: Path) -> None:
    """Serve the bare baselines until killed."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    push = grpc.unary_unary_rpc_method_handler(
        _bare_push,
        request_deserializer=sync_pb2.PushEventsRequest.FromString,
        response_serializer=sync_pb2.PushEventsResponse.SerializeToString,
    )
    handler = grpc.stream_unary_rpc_method_handler(
        _bare_stream,
        request_deserializer=sync_pb2.LedgerEvent.FromString,
        response_serializer=sync_pb2.PushEventsResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("bench.Bare", {"Stream": handler}),
            grpc.method_handlers_generic_handler(
                "cabinet.v1.CentralPharmacy", {"PushEvents": push}
            ),
        )
    )
    creds = grpc.ssl_server_credentials(
        [((tls_dir / pki.CENTRAL_KEY).read_bytes(), (tls_dir / pki.CENTRAL_CERT).read_bytes())],
        root_certificates=(tls_dir / pki.CA_CERT).read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    await server.start()
    _announce(port_file, port)
    await server.wait_for_termination()


def _announce(port_file: Path, port: int) -> None:
    """Write the bound port whole (a reader never sees half a number)."""
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    tmp.replace(port_file)


# -- the cabinet side --------------------------------------------------------------------------
def fill(store: Store, signer: cps.CheckpointSigner, count: int) -> None:
    """Queue `count` events, a signed checkpoint every 100 (set-up, not timed)."""
    clock = SystemClock()
    done = 0
    while done < count:
        with store.transaction() as conn:
            for _ in range(min(5000, count - done)):
                event = ledger.append(
                    conn,
                    NewEvent(
                        kind="dispense", actor="IDE-001", patient_id="8001234567",
                        order_id="ORD-0003", item_code="3400894759515", drawer=0, pocket=1,
                        lot="L013400", quantity=-1, payload={"balance": 19},
                    ),
                    iso(clock.now()),
                )  # fmt: skip
                if event.seq % 100 == 0:
                    cps.write(conn, signer, event.seq, event.hash, event.at)
                done += 1


def start_process(args: list[str], port_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start a server process and wait for the port it announces."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start: {args}")
        time.sleep(0.05)
    return proc, int(port_file.read_text())


def credentials(tls_dir: Path) -> grpc.ChannelCredentials:
    """The cabinet's mutual-TLS credentials."""
    cert, key = pki.cabinet_cert_names(CABINET)
    return grpc.ssl_channel_credentials(
        (tls_dir / pki.CA_CERT).read_bytes(),
        (tls_dir / key).read_bytes(),
        (tls_dir / cert).read_bytes(),
    )


async def drain_ours(config: Config, store: Store, count: int) -> float:
    """Seconds for the real sync service to empty the outbox."""
    service = SyncService(config, store, SystemClock(), idle_poll_s=0.05)
    started = time.perf_counter()
    await service.start()
    try:
        while service.state().last_acked_seq < count:
            await asyncio.sleep(0.01)
            if time.perf_counter() - started > 300:
                raise SystemExit(f"drain stalled: {service.state()}")
        return time.perf_counter() - started
    finally:
        await service.stop()


async def bare_stream(port: int, tls_dir: Path, events: list[sync_pb2.LedgerEvent]) -> float:
    """Seconds to stream the same events, one per message, to the bare server."""
    started = time.perf_counter()
    async with grpc.aio.secure_channel(f"localhost:{port}", credentials(tls_dir)) as channel:
        call = channel.stream_unary(
            STREAM_METHOD,
            request_serializer=sync_pb2.LedgerEvent.SerializeToString,
            response_deserializer=sync_pb2.PushEventsResponse.FromString,
        )
        answer = await call(iter(events), timeout=300)
    if answer.highest_contiguous_seq != events[-1].seq:
        raise SystemExit("bare stream lost events")
    return time.perf_counter() - started


async def bare_unary(
    port: int, tls_dir: Path, events: list[sync_pb2.LedgerEvent], batch: int
) -> float:
    """Seconds to send the same events in unary calls of `batch` to the bare server."""
    started = time.perf_counter()
    async with grpc.aio.secure_channel(f"localhost:{port}", credentials(tls_dir)) as channel:
        stub = sync_pb2_grpc.CentralPharmacyStub(channel)
        for i in range(0, len(events), batch):
            request = sync_pb2.PushEventsRequest(events=events[i : i + batch])
            await stub.PushEvents(request, timeout=30)
    return time.perf_counter() - started


def main() -> None:
    """Set up, measure both in one run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    # The shipped configuration's batch size, so the figure is the daemon's as installed.
    parser.add_argument("--batch", type=int, default=CentralSection().batch_size)
    parser.add_argument("--bare-server", nargs=2, metavar=("TLS_DIR", "PORT_FILE"))
    args = parser.parse_args()
    if args.bare_server:
        asyncio.run(serve_bare(Path(args.bare_server[0]), Path(args.bare_server[1])))
        return
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        work = Path(tmp)
        tls = work / "pki"
        pki.init_site(tls, [CABINET])
        state = work / "cabinet"
        store = Store(state / "cabinet.db", SystemClock())
        key_path = state / "cabinet.key"
        signer = cps.CheckpointSigner(keys.load_or_create(key_path))
        fill(store, signer, args.events)
        reader = open_read_only(store.path)
        events = Outbox(store, reader).pending(args.events)  # the same messages, for baselines
        reader.close()
        central_db = work / "central.db"
        register = [sys.executable, "-m", "sim.cli", "central", "register-cabinet", CABINET,
                    str(keys.public_path(key_path)), "--db", str(central_db)]  # fmt: skip
        subprocess.run(register, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        central, port = start_process(
            [sys.executable, "-m", "sim.cli", "central", "--db", str(central_db), "--port", "0",
             "--tls-dir", str(tls), "--no-demo-data", "--port-file", str(work / "central.port")],
            work / "central.port",
        )  # fmt: skip
        bare, bare_port = start_process(
            [sys.executable, str(Path(__file__)), "--bare-server", str(tls),
             str(work / "bare.port")],
            work / "bare.port",
        )  # fmt: skip
        try:
            config = Config(
                cabinet=CabinetSection(id=CABINET),
                central=CentralSection(
                    address=f"localhost:{port}",
                    ca_file=tls / pki.CA_CERT,
                    cert_file=tls / pki.cabinet_cert_names(CABINET)[0],
                    key_file=tls / pki.cabinet_cert_names(CABINET)[1],
                    batch_size=args.batch,
                    deadline_s=10.0,
                ),
                store=StoreSection(state_dir=state),
            )
            stream_s = asyncio.run(bare_stream(bare_port, tls, events))
            unary_s = asyncio.run(bare_unary(bare_port, tls, events, args.batch))
            ours_s = asyncio.run(drain_ours(config, store, args.events))
        finally:
            for proc in (central, bare):
                proc.terminate()
                proc.wait(timeout=10)
            store.close()
    ratio = stream_s / ours_s
    emit(
        {
            "bench": "sync",
            "events": args.events,
            "batch": args.batch,
            "ours_s": round(ours_s, 3),
            "ours_events_per_s": round(args.events / ours_s, 1),
            "bare_stream_s": round(stream_s, 3),
            "bare_unary_batches_s": round(unary_s, 3),
            "ratio_vs_bare_stream": round(ratio, 3),
            "ratio_vs_bare_unary_batches": round(unary_s / ours_s, 3),
            "target": ">= 50% of a bare gRPC stream of the same messages, and < 20 s",
            "met": ratio >= 0.5 and ours_s < 20,
        }
    )


if __name__ == "__main__":
    main()
