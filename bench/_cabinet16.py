"""The 16-drawer x 24-pocket cabinet both poll benchmarks run against: the simulator and the
bare pymodbus reads that are their baseline. Not a benchmark itself (`make bench` skips `_*`).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

DRAWERS = 16
POCKETS = 24


def start_simulator(workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start the hardware simulator for a 16 x 24 cabinet; return it and its endpoints."""
    config = workdir / "cabinet.toml"
    config.write_text(
        "".join(f"[[drawers]]\nindex = {d}\npockets = {POCKETS}\n\n" for d in range(DRAWERS))
    )
    ready = workdir / "ready.json"
    command = [sys.executable, "-m", "sim.cli", "hardware", "--config", str(config)]
    command += ["--port", "0", "--no-console", "--ready-file", str(ready), "--settle", "0.1"]
    sim = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while not ready.exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            sim.kill()
            err = sim.stderr.read().decode() if sim.stderr else ""
            raise RuntimeError(f"hardware simulator did not start: {err.strip()[-400:]}")
        time.sleep(0.05)
    return sim, json.loads(ready.read_text())


async def control(host: str, port: int, *lines: str) -> None:
    """Send technician commands to the simulator's control port and check each answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for line in lines:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            reply = json.loads(await reader.readline())
            if not reply.get("ok"):
                raise RuntimeError(f"simulator refused {line!r}: {reply}")
    finally:
        writer.close()


async def bare_poll(client: AsyncModbusTcpClient) -> None:
    """The 36 bulk reads of a full poll, straight on pymodbus, values unchecked."""
    await client.read_input_registers(0, count=2, device_id=1)
    await client.read_discrete_inputs(0, count=DRAWERS, device_id=1)
    await client.read_discrete_inputs(0x100, count=DRAWERS, device_id=1)
    await client.read_coils(0, count=DRAWERS, device_id=1)
    for d in range(DRAWERS):
        await client.read_input_registers(0x100, count=POCKETS, device_id=10 + d)
        await client.read_input_registers(0, count=2 * POCKETS, device_id=10 + d)
