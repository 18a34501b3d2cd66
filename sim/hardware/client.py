"""Start `cabinet-sim hardware` as a process and drive it through its control port.

For tests, benchmarks and demo scripts of any part of the project:

    with simulator(tmp_dir, "--modbus", "rtu") as sim:
        sim.ok("load 1 3 10 150")
        port = sim.endpoints["control"]["port"]

and, inside an event loop, `await AsyncControl.connect(host, port)`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The installed console script (cabinet-sim = sim.cli:main) when the environment has one,
# else the same entry point through this interpreter.
_SCRIPT = Path(sys.executable).parent / "cabinet-sim"
COMMAND = (
    [str(_SCRIPT), "hardware"]
    if _SCRIPT.exists()
    else [sys.executable, "-m", "sim.cli", "hardware"]
)


class CommandFailed(Exception):
    """The simulator refused a command; the message is its reason."""


def _result(reply: dict[str, Any]) -> Any:
    """The result of a reply, or CommandFailed with the simulator's reason."""
    if not reply.get("ok"):
        raise CommandFailed(str(reply.get("error", reply)))
    return reply.get("result")


class RunningSimulator:
    """A simulator process: its endpoints and a blocking line-based control connection."""

    def __init__(
        self, proc: subprocess.Popen[str], endpoints: dict[str, Any], log: Path | None = None
    ) -> None:
        """Connect to the control port the simulator announced."""
        self.proc = proc
        self.endpoints = endpoints
        self.log = log  # where its output goes (a file: a full pipe could stall it)
        ctl = endpoints["control"]
        self._sock = socket.create_connection((ctl["host"], ctl["port"]), timeout=30)
        self._file = self._sock.makefile("rwb")

    @property
    def modbus_port(self) -> int:
        """The Modbus TCP port."""
        return int(self.endpoints["modbus"]["port"])

    @property
    def scanner_path(self) -> str:
        """The scanner's pty path."""
        return str(self.endpoints["scanner"]["path"])

    def send(self, line: str) -> dict[str, Any]:
        """Send one command and return its JSON reply, refusal included."""
        self._file.write(line.encode() + b"\n")
        self._file.flush()
        answer = self._file.readline()
        if not answer:
            raise ConnectionError("the simulator closed its control port")
        reply: dict[str, Any] = json.loads(answer)
        return reply

    def ok(self, line: str) -> Any:
        """Send a command that must succeed and return its result."""
        return _result(self.send(line))

    def drawer(self, index: int) -> dict[str, Any]:
        """One drawer of the status."""
        state = self.ok("status")
        found: dict[str, Any] = next(d for d in state["drawers"] if d["drawer"] == index)
        return found

    def close(self) -> None:
        """Close the control connection."""
        self._file.close()
        self._sock.close()


class AsyncControl:
    """The control port from asyncio code."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Wrap an open connection (use `connect`)."""
        self._reader, self._writer = reader, writer
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, host: str, port: int) -> AsyncControl:
        """Open a control connection."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, line: str) -> dict[str, Any]:
        """Send one command and return its JSON reply, refusal included."""
        async with self._lock:
            self._writer.write(line.encode() + b"\n")
            await self._writer.drain()
            answer = await self._reader.readline()
        if not answer:
            raise ConnectionError("the simulator closed its control port")
        reply: dict[str, Any] = json.loads(answer)
        return reply

    async def ok(self, line: str) -> Any:
        """Send a command that must succeed and return its result."""
        return _result(await self.send(line))

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        await self._writer.wait_closed()


def wait_ready(
    proc: subprocess.Popen[str], ready: Path, timeout: float = 20.0, log: Path | None = None
) -> dict[str, Any]:
    """Wait for the ready file; raise with the simulator's output if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            endpoints: dict[str, Any] = json.loads(ready.read_text())
            return endpoints
        if proc.poll() is not None:
            if log is not None:
                out = log.read_text(errors="replace")
            else:
                out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"the simulator exited with {proc.returncode}:\n{out}")
        time.sleep(0.02)
    raise TimeoutError(f"the simulator was not ready within {timeout:g} s")


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a simulator: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def simulator(
    directory: Path, *args: str, stdin: int | None = subprocess.DEVNULL
) -> Iterator[RunningSimulator]:
    """A simulator on free ports (fast settling, seeded noise), stopped whatever happens.

    Extra command-line arguments follow the defaults, so they override them.
    """
    stamp = time.monotonic_ns()
    ready, log = directory / f"sim-ready-{stamp}.json", directory / f"sim-{stamp}.log"
    cmd = [*COMMAND, "--port", "0", "--control-port", "0", "--ready-file", str(ready),
           "--settle", "0.2", "--seed", "7", *args]  # fmt: skip
    if "--console" not in args:
        cmd.append("--no-console")
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, stdin=stdin, stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    sim: RunningSimulator | None = None
    try:
        sim = RunningSimulator(proc, wait_ready(proc, ready, log=log), log)
        yield sim
    finally:
        if sim is not None:
            sim.close()
        stop(proc)
