"""Kiosk latency: from the dispense confirmation request to the lock release on the wire.

The whole cabinet runs as in `make demo` (simulated central, hardware simulator over Modbus
TCP, the daemon with its kiosk); a nurse's confirmation is POSTed 200 times, and each time the
release write is looked up among the writes the simulator saw on its wire (time-stamped there).
Each dispense is then cancelled before the drawer opens (the weight checks nothing left), so the
same order can be confirmed again. Each confirmation is sent once the central has acknowledged
the previous cancellation, as on a ward where a nurse's touches are seconds apart; 200 more are
sent without waiting, and printed beside (`sync_acking_*`), to show what the collision with
that acknowledgement costs. In the same run, on the same simulator, the baseline: a bare
pymodbus register write round trip plus a bare durable SQLite commit (WAL, synchronous=FULL).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common import emit, percentile  # type: ignore[import-not-found]

from cabinet.demo import Demo, free_port
from cabinet.demo_seed import config_text, seed_store

RUNS = 200
# The baseline's p99 from 200 samples is its second-worst sample and swung from 0.45 to 0.93 ms
# between runs on this machine; 1,000 samples of each bare step estimate the same percentile
# with far less spread (the dispenses stay at 200, as the target is stated).
BASELINE_RUNS = 1000
MARTIN, ORDER = "8001234567", "ORD-0003"  # PRN paracetamol 1 g: drawer 0, pocket 1
RELEASE_BASE = 0x0100


def bare_modbus(port: int, runs: int) -> list[float]:
    """Round trips of one holding-register write with pymodbus, against the same simulator."""
    from pymodbus.client import AsyncModbusTcpClient

    async def go() -> list[float]:
        """Connect, write, time each round trip."""
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2)
        await client.connect()
        out = []
        try:
            for _ in range(runs):
                start = time.perf_counter()
                # A 1 ms pulse on drawer 5's lock, before the daemon runs: harmless.
                reply = await client.write_register(RELEASE_BASE + 5, 1, device_id=1)
                out.append(time.perf_counter() - start)
                assert not reply.isError(), reply
        finally:
            client.close()
        return out

    return asyncio.run(go())


def bare_sqlite(folder: Path, runs: int) -> list[float]:
    """Durable single-row commits with plain sqlite3 and the store's pragmas."""
    conn = sqlite3.connect(folder / "bare.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at REAL, body TEXT)")
    out = []
    for i in range(runs):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (at, body) VALUES (?, ?)", (time.time(), f"event {i}"))
        conn.execute("COMMIT")
        out.append(time.perf_counter() - start)
    conn.close()
    return out


class Kiosk:
    """The nurse's side: HTTP to the daemon's kiosk, the simulator's control port for the wire.

    The kiosk is driven with the standard library's keep-alive `http.client`, as lean as the
    kiosk browser's own fetch: httpx spends about 0.3 ms of its own building each request
    (measured against the same server), which is the client's time, not the cabinet's.
    """

    def __init__(self, url: str, control: tuple[str, int]) -> None:
        """Keep what the object needs; nothing starts here."""
        from sim.hardware.client import RunningSimulator

        parts = urlsplit(url)
        self.http = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=10
        )
        self.cookie = ""
        self.seen = 0  # the last wire write sequence number read from the simulator
        self.sim = RunningSimulator.__new__(RunningSimulator)
        RunningSimulator.__init__(self.sim, None, {"control": {"host": control[0],  # type: ignore[arg-type]
                                                               "port": control[1]}})  # fmt: skip

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        """One request on the kept-alive connection: (status, decoded JSON answer)."""
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.http.request(method, path, body=data, headers=headers)
        answer = self.http.getresponse()
        raw = answer.read()
        cookie = answer.getheader("set-cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return answer.status, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: object = None) -> Any:
        """A request that must succeed; its decoded answer."""
        status, answer = self.call(method, path, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer

    def sign_in(self, within_s: float = 30) -> None:
        """Marie DUBOIS, by user id and PIN, once the users have come down from the central."""
        deadline = time.monotonic() + within_s
        while True:
            status, answer = self.call("POST", "/api/signin", {"pin": "1234", "user_id": "IDE-001"})
            if 200 <= status < 300:
                return
            if answer["detail"]["code"] != "unknown_user" or time.monotonic() > deadline:
                raise RuntimeError(f"sign-in refused: {status} {answer}")
            time.sleep(0.3)

    def wait_for_order(self, within_s: float = 30) -> None:
        """Until the central's orders reached the cabinet and the PRN dose is dispensable."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            status, answer = self.call("POST", f"/api/patients/{MARTIN}/select")
            if 200 <= status < 300 and any(o["order_id"] == ORDER and o["dispensable"]
                                           for o in answer["orders"]):  # fmt: skip
                return
            time.sleep(0.3)
        raise RuntimeError("the demo orders never reached the cabinet")

    def last_wire_seq(self) -> int:
        """The sequence number of the last write the simulator saw.

        Asked from the last number known, not from 0: the whole log, thousands of writes by the
        end of a run, made the simulator build and send a growing answer every cycle.
        """
        events = self.sim.ok(f"events {self.seen}")
        if events:
            self.seen = int(events[-1]["seq"])
        return self.seen

    def sync_quiet(self, within_s: float = 10) -> None:
        """Until the central has acknowledged every event (the outbox is empty)."""
        deadline = time.monotonic() + within_s
        while self.ok("GET", "/api/status")["sync"]["outbox_depth"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the outbox never drained")
            time.sleep(0.002)

    def one(self, *, quiet: bool = True) -> float:
        """Prepare, confirm (timed to the wire), cancel and wait until the task is closed.

        With `quiet`, the confirmation waits until the central has acknowledged the previous
        cycle's "cancelled" event. Without it, that acknowledgement (a durable commit on the
        daemon's loop, 0.4-0.7 ms with its gRPC answer) lands about 3 ms after the cancel, as
        this loop sends its next confirmation, on every cycle: a collision of the benchmark's
        own rhythm, where a ward's events are minutes apart. Both are measured and printed.
        """
        if quiet:
            self.sync_quiet()
        drawer = self.ok("POST", "/api/dispense", {"patient_id": MARTIN, "order_id": ORDER})[
            "drawer"
        ]
        since = self.last_wire_seq()
        sent = time.time()
        self.ok("POST", "/api/task/confirm")
        # The daemon answers only after the board acknowledged the write, so the write is in
        # the simulator's log by now. The stamp is the simulator's, taken on its wire.
        release = None
        deadline = time.monotonic() + 5
        while release is None and time.monotonic() < deadline:
            for ev in self.sim.ok(f"events {since}"):
                if (ev["table"] == "holding" and ev["address"] == RELEASE_BASE + drawer
                        and ev["values"] and ev["values"][0] > 0):  # fmt: skip
                    release = float(ev["at"])
                    break
            else:
                time.sleep(0.005)
        if release is None:
            raise RuntimeError("no release reached the wire")
        self.ok("POST", "/api/task/cancel")
        deadline = time.monotonic() + 10
        while self.ok("GET", "/api/task") is not None:
            if time.monotonic() > deadline:
                raise RuntimeError("the cancelled task never closed")
            time.sleep(0.02)
        return release - sent


def main() -> int:
    """Baselines first on the bare simulator, then the whole cabinet; one JSON line."""
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        folder = Path(tmp)
        demo = Demo(folder, free_port())
        try:
            pki = demo.pki()
            central_port = demo.central(pki)
            endpoints = demo.hardware()
            if endpoints is None or central_port is None:
                print("\n".join(demo.missing), file=sys.stderr)
                return 1
            modbus_port = int(endpoints["modbus"]["port"])  # type: ignore[index]
            modbus = bare_modbus(modbus_port, BASELINE_RUNS)
            sqlite = bare_sqlite(folder, BASELINE_RUNS)
            config = folder / "cabinet.toml"
            config.write_text(config_text(folder, demo.ui_port, pki, central_port, endpoints))
            seed_store(folder / "cabinet", stocked=True)
            url = demo.daemon(config)
            if url is None:
                print("\n".join(demo.missing), file=sys.stderr)
                return 1
            control = endpoints["control"]  # type: ignore[index]
            kiosk = Kiosk(url, (control["host"], int(control["port"])))
            kiosk.sign_in()
            kiosk.wait_for_order()
            for _ in range(10):  # warm-up: first connections, caches
                kiosk.one()
            ours = [kiosk.one() for _ in range(RUNS)]
            # The same, each confirmation sent as the previous cycle's event is acknowledged.
            busy = [kiosk.one(quiet=False) for _ in range(RUNS)]
            # The kiosk's own share: one authenticated HTTP round trip that does no hardware.
            http = []
            for _ in range(RUNS):
                start = time.perf_counter()
                kiosk.ok("GET", "/api/task")
                http.append(time.perf_counter() - start)
        finally:
            demo.stop()
    base = [m + s for m, s in zip(modbus, sqlite, strict=True)]
    p50, p99 = percentile(ours, 50) * 1000, percentile(ours, 99) * 1000
    b50, b99 = percentile(base, 50) * 1000, percentile(base, 99) * 1000
    ratio = p99 / b99 if b99 else float("inf")
    emit({
        "bench": "ui_latency", "dispenses": RUNS, "baseline_samples": BASELINE_RUNS,
        "confirm_to_wire_p50_ms": round(p50, 2), "confirm_to_wire_p99_ms": round(p99, 2),
        "sync_acking_p50_ms": round(percentile(busy, 50) * 1000, 2),
        "sync_acking_p99_ms": round(percentile(busy, 99) * 1000, 2),
        "bare_modbus_p50_ms": round(percentile(modbus, 50) * 1000, 2),
        "bare_sqlite_commit_p50_ms": round(percentile(sqlite, 50) * 1000, 2),
        "kiosk_http_round_trip_p50_ms": round(percentile(http, 50) * 1000, 2),
        "baseline_p50_ms": round(b50, 2), "baseline_p99_ms": round(b99, 2),
        "ratio_p50": round(p50 / b50, 2) if b50 else None, "ratio_p99": round(ratio, 2),
        "target": "p99 <= 50 ms and p99 <= 3x (bare pymodbus write + bare durable commit)",
        "met": p99 <= 50 and ratio <= 3,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
