"""The systemd notification protocol (READY, STATUS, WATCHDOG, STOPPING) in stdlib only."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class Notifier:
    """Sends datagrams to $NOTIFY_SOCKET; does nothing when systemd did not ask for them."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        """Read $NOTIFY_SOCKET and the watchdog settings from `env`."""
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract socket: the kernel spells it with a leading NUL.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._watchdog_s = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        """True when a notification socket is set."""
        return bool(self._address)

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half of $WATCHDOG_USEC, or None when no watchdog is armed."""
        return self._watchdog_s

    def send(self, *lines: str) -> bool:
        """Send `KEY=value` lines as one datagram; False when there is nowhere to send."""
        if not self._address:
            return False
        payload = "\n".join(lines).encode("utf-8")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.connect(self._address)
                sock.sendall(payload)
            except OSError:
                return False  # systemd gone (shutdown): nothing to tell
        return True

    def ready(self, status: str) -> bool:
        """Tell systemd the daemon is serving."""
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        """Update the one-line status shown by `systemctl status`."""
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        """Ping the watchdog; call only while the critical tasks make progress."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        """Tell systemd a clean stop has begun."""
        return self.send("STOPPING=1", f"STATUS={status}")


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of the watchdog period systemd armed for this very process, in seconds."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # the variable was meant for another process (e.g. our parent)
    return int(usec) / 2_000_000
