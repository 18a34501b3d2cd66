"""`make demo` (python -m cabinet.demo): starts every part, serves the kiosk, prints the badges
and the console, and on Ctrl-C stops everything it started."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def listening(port: int) -> bool:
    """True while something accepts connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_demo_starts_everything_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "cabinet.demo", "--no-console", "--ui-port", "0",
             "--state-dir", str(tmp_path / "state")],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in out.read_text():
            assert demo.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        text = out.read_text()
        assert "NOT AVAILABLE" not in text, text
        assert "BADGE-1001" in text and "PIN 1234" in text
        url = next(line.split(": ", 1)[1] for line in text.splitlines() if "Kiosk" in line)
        with urllib.request.urlopen(url + "api/kiosk", timeout=5) as answer:
            kiosk = json.load(answer)
        assert kiosk["cabinet_id"] == "CAB-DEMO-01"
        sim = json.loads((tmp_path / "state" / "hardware.json").read_text())
        ui_port = int(url.rsplit(":", 1)[1].strip("/"))
        central_port = int((tmp_path / "state" / "central.port").read_text())
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert demo.wait(timeout=60) == 0
        assert out.read_text().rstrip().endswith("demo stopped")
        for port in (ui_port, central_port, int(sim["modbus"]["port"])):
            assert not listening(port), port
        with pytest.raises(ProcessLookupError):
            os.kill(int(sim["pid"]), 0)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
