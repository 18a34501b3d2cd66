"""`make demo`: the simulated central, the hardware simulator and the daemon, with demo data.

Every part runs as its own process in its own session, so that Ctrl-C stops them here, in
reverse order, each with SIGTERM first and SIGKILL only if it lingers. A part that is not
available on this checkout is named plainly and the demo goes on with the others.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from cabinet.demo_seed import CABINET_ID, config_text, demo_users, seed_store

BIN = Path(sys.executable).parent


def script(name: str) -> list[str]:
    """The console script next to this interpreter (the venv's), else the one on PATH."""
    local = BIN / name
    return [str(local) if local.exists() else name]


def free_port(preferred: int = 0) -> int:
    """The preferred loopback port if nobody holds it, else any free one."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = s.getsockname()[1]
            return port
    raise OSError("no free port on the loopback")


def available(argv: Sequence[str]) -> str:
    """Empty when `argv --help` succeeds; otherwise why the command is not there."""
    try:
        done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60,
                              check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


@dataclass
class Part:
    """One process of the demo and how to tell that it is ready."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    log: Path
    ready_timeout_s: float = 60.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> bool:
        """Start and wait until ready; False (and stopped) when it dies or never gets ready."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.ready():
                return True
            time.sleep(0.1)
        self.stop()
        return False

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL: the process is gone when this returns."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 6) -> str:
        """The last lines of its log, to say why it did not come up."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join("      " + line for line in text[-lines:])


class Demo:
    """Brings the parts up in order, reports what is missing, and stops them in reverse."""

    def __init__(self, state: Path, ui_port: int) -> None:
        """Keep what the object needs; nothing starts here."""
        self.state = state
        self.ui_port = ui_port
        self.parts: list[Part] = []
        self.missing: list[str] = []
        self.sim_endpoints: dict[str, object] = {}

    def _start(self, part: Part) -> bool:
        """Start one part, or record plainly why it is not running."""
        print(f"  starting {part.name} …", flush=True)
        if part.start():
            self.parts.append(part)
            return True
        self.missing.append(f"{part.name}: did not start (log {part.log})\n{part.tail()}")
        return False

    def central(self, pki: Path | None) -> int | None:
        """The simulated central on a free port, mutual TLS when the site PKI exists."""
        argv = [*script("cabinet-sim"), "central"]
        why = available(argv)
        if why:
            self.missing.append(f"simulated central (cabinet-sim central): {why}")
            return None
        port_file = self.state / "central.port"
        tls = ["--tls-dir", str(pki)] if pki else ["--insecure-development"]
        part = Part("simulated central", [*argv, "--db", str(self.state / "central.db"),
                    "--port", "0", "--port-file", str(port_file), "--enroll-on-first-contact",
                    *tls], port_file.exists, self.state / "central.log")  # fmt: skip
        if not self._start(part):
            return None
        return int(port_file.read_text().strip())

    def hardware(self) -> dict[str, object] | None:
        """The hardware simulator with the demo stock in its pockets."""
        argv = [*script("cabinet-sim"), "hardware"]
        why = available(argv)
        if why:
            self.missing.append(f"hardware simulator (cabinet-sim hardware): {why}")
            return None
        ready = self.state / "hardware.json"
        part = Part("hardware simulator", [*argv, "--port", "0", "--control-port", "0",
                    "--ready-file", str(ready), "--no-console", "--stock-demo"], ready.exists,
                    self.state / "hardware.log")  # fmt: skip
        if not self._start(part):
            return None
        endpoints: dict[str, object] = json.loads(ready.read_text())
        self.sim_endpoints = endpoints
        return endpoints

    def pki(self) -> Path | None:
        """The site's CA and certificates (`cabinet pki init`), or None when unavailable."""
        folder = self.state / "pki"
        if (folder / "ca.pem").exists():
            return folder
        argv = [*script("cabinet"), "pki", "init", str(folder), "--cabinet", CABINET_ID]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            self.missing.append(f"site PKI (cabinet pki init): {done.stderr.strip()[-200:]}")
            return None
        return folder

    def daemon(self, config: Path) -> str | None:
        """The cabinet daemon on the generated configuration; returns the kiosk's address."""
        argv = script("cabinetd")
        address = self.state / "cabinet" / "ui-address"
        part = Part("cabinet daemon", [*argv, "--config", str(config)], address.exists,
                    self.state / "cabinetd.log")  # fmt: skip
        if not self._start(part):
            return None
        return address.read_text().strip()

    def stop(self) -> None:
        """Stop every part in reverse order of start."""
        for part in reversed(self.parts):
            print(f"  stopping {part.name} …", flush=True)
            part.stop()
        self.parts.clear()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM stops the demo like Ctrl-C does."""
    raise KeyboardInterrupt


def console(demo: Demo, interactive: bool) -> None:
    """Forward technician commands to the simulator's control port until Ctrl-C or `quit`."""
    control = demo.sim_endpoints.get("control")
    if not interactive or not isinstance(control, dict):
        while all(p.alive() for p in demo.parts):
            time.sleep(0.5)
        return
    with socket.create_connection((str(control["host"]), int(control["port"])), timeout=30) as s:
        stream = s.makefile("rwb")
        while all(p.alive() for p in demo.parts):
            try:
                line = input("sim> ").strip()
            except EOFError:
                return
            if line in ("quit", "exit"):
                return
            if not line:
                continue
            stream.write(line.encode() + b"\n")
            stream.flush()
            reply = json.loads(stream.readline() or b"{}")
            shown = reply.get("result") if reply.get("ok") else reply.get("error", reply)
            print(shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False,
                                                                  indent=1))  # fmt: skip
        print("a part of the demo stopped on its own; stopping the others")


def banner(demo: Demo, url: str | None, config: Path) -> None:
    """What a technician needs: the address, the badges and PINs, the console."""
    print("\n" + "=" * 72)
    print(f"Kiosk (touchscreen UI): {url or 'NOT AVAILABLE (see below)'}")
    print(f"State directory: {demo.state}    configuration: {config}")
    print("Demo users (scan the badge with `badge CODE` in the console, then type the PIN):")
    for user_id, name, roles, badge, pin in demo_users():
        print(f"  {user_id:8} {name:24} {roles:12} badge {badge:12} PIN {pin}")
    control = demo.sim_endpoints.get("control")
    if isinstance(control, dict):
        print(f"Technician console: type commands below (try `help`, `badge BADGE-1001`, "
              f"`open 0`, `take 0 0 1`, `close 0`); or connect to {control['host']}:"
              f"{control['port']} (one command per line, JSON answers).")  # fmt: skip
    for line in demo.missing:
        print(f"NOT AVAILABLE: {line}")
    print("Ctrl-C stops everything.\n" + "=" * 72, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until Ctrl-C (or SIGTERM); every part is stopped on the way out."""
    parser = argparse.ArgumentParser(prog="python -m cabinet.demo", description=__doc__)
    parser.add_argument("--state-dir", type=Path, help="keep the demo's state here (default: "
                        "a fresh temporary folder, removed at the end)")  # fmt: skip
    parser.add_argument("--ui-port", type=int, default=8080, help="kiosk port if free")
    parser.add_argument("--no-console", action="store_true", help="no technician prompt")
    args = parser.parse_args(argv)
    fresh = args.state_dir is None
    state = Path(tempfile.mkdtemp(prefix="cabinet-demo-")) if fresh else args.state_dir
    state.mkdir(parents=True, exist_ok=True)
    demo = Demo(state.resolve(), free_port(args.ui_port))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"Cabinet demo in {demo.state}", flush=True)
        pki = demo.pki()
        central_port = demo.central(pki)
        endpoints = demo.hardware()
        config = demo.state / "cabinet.toml"
        config.write_text(config_text(demo.state, demo.ui_port, pki, central_port, endpoints))
        seed_store(demo.state / "cabinet", stocked=endpoints is not None)
        url = demo.daemon(config)
        banner(demo, url, config)
        console(demo, interactive=not args.no_console and sys.stdin.isatty())
    except KeyboardInterrupt:
        print("\nCtrl-C: stopping the demo", flush=True)
    finally:
        demo.stop()
        if fresh:
            shutil.rmtree(state, ignore_errors=True)
        print("demo stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
