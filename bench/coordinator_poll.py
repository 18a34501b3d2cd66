"""Benchmark: the hardware coordinator's polling of a 16 x 24 cabinet against bare pymodbus reads.

Starts `cabinet-sim hardware` (Modbus TCP on a free port) with 16 drawers of 24 pockets, then in
one run:

- bare: the 36 bulk reads one full poll needs (board: status+firmware, closed sensors, bolts,
  lock mirror; per drawer: every status, every weight), straight on a pymodbus client;
- ours: `HardwareCoordinator.poll_all()` over the real drivers: the same reads plus edge
  detection, settling, alarms and snapshots;
- the coordinator's own background loop (25 Hz) with one drawer released and opened through
  the simulator: how often that drawer's pockets are really read, and how often the idle ones.

Target (design.md section 7): full poll <= 1.5 x the bare reads; open drawer sampled >= 20 Hz.
Run: .venv/bin/python bench/coordinator_poll.py
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _cabinet16 import DRAWERS, POCKETS, bare_poll, control, start_simulator
from common import emit
from pymodbus.client import AsyncModbusTcpClient

import hal
from cabinet.clock import SystemClock
from cabinet.hardware import HardwareCoordinator
from drivers.build import ModbusHardware, ScaleSpec, from_config

# Interleaved full polls of each kind. With 40, one run in four on this 2-core machine landed at
# 1.51x when the runs beside it gave 1.31-1.39x; 120 rounds (about 4 s) steady the medians.
ROUNDS = 120
OPEN_DRAWER = 3
SAMPLE_SECONDS = 3.0


class CountingBank:
    """A scale bank that remembers when each of its reads completed (the bench's probe)."""

    def __init__(self, bank: hal.ScaleBank) -> None:
        self._bank = bank
        self.drawer = bank.drawer
        self.pocket_count = bank.pocket_count
        self.stamps: list[float] = []

    async def read_all(self) -> tuple[hal.WeightReading, ...]:
        """Delegate, then stamp."""
        readings = await self._bank.read_all()
        self.stamps.append(time.perf_counter())
        return readings

    async def tare(self, pocket: int) -> None:
        """Delegate."""
        await self._bank.tare(pocket)

    async def close(self) -> None:
        """Delegate."""
        await self._bank.close()


def _control_address(endpoints: dict[str, Any]) -> tuple[str, int]:
    """Host and port of the simulator's control port."""
    return endpoints["control"]["host"], int(endpoints["control"]["port"])


def hardware(endpoints: dict[str, Any]) -> ModbusHardware:
    """The real drivers for the simulated cabinet."""
    modbus = endpoints["modbus"]
    return from_config(
        host=modbus["host"],
        port=modbus["port"],
        timeout_s=0.5,
        retries=1,
        drawers=[ScaleSpec(drawer=d, pockets=POCKETS) for d in range(DRAWERS)],
    )


def coordinator(
    hw: ModbusHardware, *, autopoll: bool
) -> tuple[HardwareCoordinator, dict[int, CountingBank]]:
    """A coordinator over the drivers, its scale banks probed."""
    banks = {d: CountingBank(bank) for d, bank in hw.scales.items()}
    coord = HardwareCoordinator(
        hw.board, banks, SystemClock(), open_drawer_hz=25, idle_poll_s=1.0, autopoll=autopoll
    )
    return coord, banks


async def full_polls(endpoints: dict[str, Any]) -> tuple[float, float]:
    """Median milliseconds of a bare full poll and of the coordinator's, interleaved."""
    client = AsyncModbusTcpClient(endpoints["modbus"]["host"], port=endpoints["modbus"]["port"])
    await client.connect()
    coord, _ = coordinator(hardware(endpoints), autopoll=False)
    await coord.start()
    bare: list[float] = []
    ours: list[float] = []
    try:
        for _ in range(ROUNDS):
            began = time.perf_counter()
            await bare_poll(client)
            bare.append(time.perf_counter() - began)
            began = time.perf_counter()
            await coord.poll_all()
            ours.append(time.perf_counter() - began)
        if not coord.snapshot().healthy:
            raise RuntimeError(f"the coordinator saw faults: {coord.snapshot().alarms}")
    finally:
        await coord.stop()
        client.close()
    return statistics.median(bare) * 1000, statistics.median(ours) * 1000


async def open_drawer_sampling(endpoints: dict[str, Any]) -> dict[str, float]:
    """The coordinator's own loop with one drawer open: its sample rate and the idle ones'."""
    coord, banks = coordinator(hardware(endpoints), autopoll=True)
    await coord.start()
    try:
        await coord.settled_weights(OPEN_DRAWER, 5.0)
        await coord.release(OPEN_DRAWER, reason="bench", milliseconds=8000)
        await control(*_control_address(endpoints), f"open {OPEN_DRAWER}")
        await asyncio.sleep(0.2)  # the opening edge has been seen
        for bank in banks.values():
            bank.stamps.clear()
        await asyncio.sleep(SAMPLE_SECONDS)
        stamps = list(banks[OPEN_DRAWER].stamps)
        idle = [len(b.stamps) for d, b in banks.items() if d != OPEN_DRAWER]
        await control(*_control_address(endpoints), f"close {OPEN_DRAWER}")
    finally:
        await coord.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return {
        "open_drawer_hz": round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1),
        "open_drawer_max_gap_ms": round(max(gaps) * 1000, 1),
        "idle_drawer_reads_per_s": round(statistics.mean(idle) / SAMPLE_SECONDS, 2),
    }


async def measure(endpoints: dict[str, Any]) -> dict[str, Any]:
    """Both measurements in one run."""
    bare_ms, ours_ms = await full_polls(endpoints)
    sampling = await open_drawer_sampling(endpoints)
    ratio = ours_ms / bare_ms
    return {
        "bench": "coordinator_poll",
        "cabinet": f"{DRAWERS}x{POCKETS}",
        "full_poll_bare_ms": round(bare_ms, 2),
        "full_poll_coordinator_ms": round(ours_ms, 2),
        "ratio": round(ratio, 3),
        **sampling,
        "target": "coordinator full poll <= 1.5x bare bulk reads; open drawer >= 20 Hz",
        "met": ratio <= 1.5 and sampling["open_drawer_hz"] >= 20,
    }


def main() -> int:
    """Run the benchmark against a fresh simulator and print its JSON line."""
    with tempfile.TemporaryDirectory() as tmp:
        sim, endpoints = start_simulator(Path(tmp))
        try:
            result = asyncio.run(measure(endpoints))
        finally:
            sim.terminate()
            try:
                sim.wait(timeout=5)
            except subprocess.TimeoutExpired:
                sim.kill()
    emit(result)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
