"""The whole cabinet as separate processes, as `make demo` starts it: the simulated central
(mutual TLS), the hardware simulator and the daemon, on free ports in a test directory."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

from cabinet.demo import Demo, free_port, script
from cabinet.demo_seed import config_text, seed_store


class Stack:
    """Started parts, a control connection to the simulator, and the kiosk's address."""

    def __init__(self, root: Path) -> None:
        """Keep what the object needs; nothing starts here."""
        self.demo = Demo(root, free_port())
        self.url = ""
        self._control: socket.socket | None = None
        self._stream: Any = None

    def start(self) -> None:
        """Bring every part up, or fail naming the one that did not come up."""
        pki = self.demo.pki()
        central_port = self.demo.central(pki)
        endpoints = self.demo.hardware()
        config = self.demo.state / "cabinet.toml"
        config.write_text(config_text(self.demo.state, self.demo.ui_port, pki, central_port,
                                      endpoints))  # fmt: skip
        seed_store(self.demo.state / "cabinet", stocked=endpoints is not None)
        self.url = self.demo.daemon(config) or ""
        assert self.url and central_port and endpoints, "\n".join(self.demo.missing)
        control = endpoints["control"]
        self._control = socket.create_connection((control["host"], control["port"]), timeout=30)
        self._stream = self._control.makefile("rwb")

    def sim(self, line: str) -> Any:
        """One technician command at the simulator; its result, or AssertionError."""
        self._stream.write(line.encode() + b"\n")
        self._stream.flush()
        reply = json.loads(self._stream.readline())
        assert reply.get("ok"), reply
        return reply.get("result")

    def add_order_due_now(self, order_id: str, patient: str, item: str, dose: int) -> None:
        """A verified scheduled order whose dose is due at this very minute (UTC)."""
        now = dt.datetime.now(dt.UTC)
        subprocess.run(
            [*script("cabinet-sim"), "central", "--db", str(self.demo.state / "central.db"),
             "add-order", "--id", order_id, "--patient", patient, "--item", item,
             "--dose", str(dose), "--kind", "scheduled", "--times", f"{now:%H:%M}",
             "--start-at", (now - dt.timedelta(days=1)).isoformat()],
            check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    def part(self, name: str) -> Any:
        """A running part by name."""
        return next(p for p in self.demo.parts if p.name == name)

    def stop(self) -> None:
        """Stop every process, whatever state it is in."""
        if self._control is not None:
            self._control.close()
        self.demo.stop()
