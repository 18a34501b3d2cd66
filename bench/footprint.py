"""Daemon footprint: resident memory with a 1,000,000-event ledger, and start to READY=1.

The daemon runs as systemd would run it: `cabinetd --config FILE` with $NOTIFY_SOCKET pointing at
a datagram socket this benchmark listens on; its hardware is the simulator over Modbus TCP. Its
store is a copy of the synthetic 1,000,000-event history (bench/gen_history.py, hash-chained and
signed). Memory is read from /proc: resident after READY and the peak (VmHWM) while the
background full ledger check runs. The baseline, in the same run: a bare Python process that
imports sqlite3 and opens the same database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, emit  # type: ignore[import-not-found]
from gen_history import ensure  # type: ignore[import-not-found]

from cabinet.demo import free_port, script
from sim.hardware.client import simulator

EVENTS = 1_000_000
WATCH_S = 90.0  # memory is watched after READY until the full ledger check ends (or this long)


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def config(state: Path, modbus_port: int) -> str:
    """The daemon's configuration: the simulator's bus, no scanner, no central."""
    return (
        f'[hardware]\nport = {modbus_port}\n[scanner]\ntransport = "none"\n'
        f'[central]\nenabled = false\n[store]\nstate_dir = "{state}"\n'
        f"[ui]\nport = {free_port()}\n"
    )


def bare_baseline(db: Path) -> tuple[float, int]:
    """Start time and resident KiB of a bare Python that opens the database with sqlite3."""
    code = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('SELECT COUNT(*) FROM ledger WHERE seq > (SELECT MAX(seq) - 100 FROM ledger)')"
        ".fetchone(); print('ready', flush=True); time.sleep(5)"
    )
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    ready = time.monotonic() - start
    rss, _ = rss_kib(proc.pid)
    proc.terminate()
    proc.wait()
    return ready, rss


def run_daemon(state: Path, conf: Path) -> tuple[float, int, int]:
    """Start the daemon, wait for READY=1 on our socket; (seconds to READY, RSS, peak) KiB."""
    sock_path = state / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "PYTHONUNBUFFERED": "1"}
    log = (state / "cabinetd.log").open("w", buffering=1)
    start = time.monotonic()
    proc = subprocess.Popen([*script("cabinetd"), "--config", str(conf)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        while True:
            message = sock.recv(4096).decode()
            if "READY=1" in message.split("\n"):
                ready = time.monotonic() - start
                break
        rss_after, _ = rss_kib(proc.pid)
        deadline = time.monotonic() + WATCH_S
        logged = state / "cabinetd.log"
        while (
            time.monotonic() < deadline and "full ledger check finished" not in logged.read_text()
        ):
            time.sleep(0.2)
        time.sleep(1.0)
        _, peak = rss_kib(proc.pid)
        return ready, rss_after, peak
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        sock.close()


def main() -> int:
    """One JSON line: READY time and memory against the targets."""
    history = ensure(EVENTS)
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        state = Path(tmp)
        shutil.copyfile(history, state / "cabinet.db")
        shutil.copyfile(history.with_suffix(".key"), state / "cabinet.key")
        os.chmod(state / "cabinet.key", 0o600)
        shutil.copyfile(history.with_suffix(".pub"), state / "cabinet.pub")
        bare_ready, bare_rss = bare_baseline(state / "cabinet.db")
        with simulator(state) as sim:
            conf = state / "cabinet.toml"
            conf.write_text(config(state, sim.modbus_port))
            ready, rss_after, peak = run_daemon(state, conf)
        logged = (state / "cabinetd.log").read_text()
        degraded = "degraded=True" in logged
        full_check = "full ledger check finished" in logged
    mb = 1024.0
    emit({
        "bench": "footprint", "ledger_events": EVENTS,
        "start_to_ready_s": round(ready, 3), "rss_after_ready_mb": round(rss_after / mb, 1),
        "peak_rss_mb": round(peak / mb, 1), "started_degraded": degraded,
        "full_ledger_check_done_while_watched": full_check,
        "bare_python_sqlite_start_s": round(bare_ready, 3),
        "bare_python_sqlite_rss_mb": round(bare_rss / mb, 1),
        "target": "peak resident <= 100 MB with 1,000,000 ledger events; READY=1 <= 2 s",
        "met": peak / mb <= 100 and ready <= 2.0 and not degraded,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
