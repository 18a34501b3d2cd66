"""Start `cabinet-sim hardware` as a real process and talk to its control port."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[2]
# The installed console script (pyproject's cabinet-sim = sim.cli:main) when the environment
# has it, else the same entry point through the interpreter.
_SCRIPT = Path(sys.executable).parent / "cabinet-sim"
SIM = (
    [str(_SCRIPT), "hardware"]
    if _SCRIPT.exists()
    else [sys.executable, "-m", "sim.cli", "hardware"]
)


class SimProcess:
    """A running simulator: its endpoints and a line-based control connection."""

    def __init__(self, proc: subprocess.Popen[str], endpoints: dict[str, Any]) -> None:
        """Connect to the control port the simulator announced."""
        self.proc = proc
        self.endpoints = endpoints
        ctl = endpoints["control"]
        self._sock = socket.create_connection((ctl["host"], ctl["port"]), timeout=10)
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
        """One command, its JSON reply."""
        self._file.write(line.encode() + b"\n")
        self._file.flush()
        reply: dict[str, Any] = json.loads(self._file.readline())
        return reply

    def ok(self, line: str) -> Any:
        """A command that must succeed; its result."""
        reply = self.send(line)
        assert reply["ok"], reply
        return reply["result"]

    def drawer(self, index: int) -> dict[str, Any]:
        """One drawer of the status."""
        state = self.ok("status")
        found: dict[str, Any] = next(d for d in state["drawers"] if d["drawer"] == index)
        return found

    def close(self) -> None:
        """Close the control connection."""
        self._file.close()
        self._sock.close()


def wait_ready(proc: subprocess.Popen[str], ready: Path, timeout: float = 20.0) -> dict[str, Any]:
    """Wait for the ready file; fail with the simulator's output if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            endpoints: dict[str, Any] = json.loads(ready.read_text())
            return endpoints
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"simulator exited with {proc.returncode}:\n{out}")
        time.sleep(0.02)
    raise AssertionError("simulator not ready in time")


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop the simulator: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def running_sim(
    tmp: Path, *args: str, stdin: int | None = subprocess.DEVNULL
) -> Iterator[SimProcess]:
    """A simulator on free ports with fast settling, stopped whatever happens."""
    ready = tmp / f"ready-{time.monotonic_ns()}.json"
    cmd = [*SIM, "--port", "0", "--control-port", "0", "--ready-file", str(ready),
           "--settle", "0.2", "--seed", "7", *args]  # fmt: skip
    if "--console" not in args:
        cmd.append("--no-console")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    sim: SimProcess | None = None
    try:
        sim = SimProcess(proc, wait_ready(proc, ready))
        yield sim
    finally:
        if sim is not None:
            sim.close()
        stop(proc)
        if proc.stdout:
            proc.stdout.close()
