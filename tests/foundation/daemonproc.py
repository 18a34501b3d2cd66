"""Running the real `cabinetd` as systemd would: a notify socket, a watchdog, signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, checkpoint_every: int = 100) -> Path:
    """A one-drawer cabinet whose board does not answer, no scanner, no central."""
    path = folder / "cabinet.toml"
    path.write_text(
        f"""
[cabinet]
id = "CAB-TEST-01"

[[drawers]]
index = 0
pockets = 2

[hardware]
port = {free_port()}
timeout_s = 0.05
retries = 0

[scanner]
transport = "none"

[central]
enabled = false

[store]
state_dir = "state"
checkpoint_every = {checkpoint_every}

[ui]
port = {free_port()}
""",
        encoding="utf-8",
    )
    return path


class NotifySocket:
    """The datagram socket systemd would listen on; collects what the daemon tells it."""

    def __init__(self, folder: Path) -> None:
        """Bind the socket in `folder`."""
        self.path = folder / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[str] = []

    def wait_for(self, line: str, timeout: float = 20.0) -> str:
        """Block until a datagram containing `line` arrives; return that datagram."""
        deadline = time.monotonic() + timeout
        for seen in self.messages:
            if line in seen.splitlines():
                return seen
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode("utf-8")
            except TimeoutError:
                break
            self.messages.append(data)
            if line in data.splitlines():
                return data
        raise AssertionError(f"no {line!r} from the daemon; got {self.messages}")

    def close(self) -> None:
        """Release the socket."""
        self.sock.close()


class Daemon:
    """One `cabinetd` process."""

    def __init__(self, config: Path, notify: NotifySocket, watchdog_usec: int = 0) -> None:
        """Start cabinetd with the environment systemd would give it."""
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = str(notify.path)
        env.pop("JOURNAL_STREAM", None)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.log_path = config.parent / "cabinetd.log"
        self._log = self.log_path.open("wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cabinet.daemon",
                "--config",
                str(config),
                "--log-level",
                "debug",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send the signal and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Make sure the process is gone and the log is closed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def log(self) -> str:
        """Everything the daemon wrote so far."""
        return self.log_path.read_text(encoding="utf-8")
