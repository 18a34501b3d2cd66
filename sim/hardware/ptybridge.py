"""A null-modem cable in software: two ptys whose bytes are relayed to each other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty


class PtyBridge:
    """Two raw ptys joined back to back, like `socat pty,raw,echo=0 pty,raw,echo=0`."""

    def __init__(self) -> None:
        """Nothing is open until open() runs inside the event loop."""
        self._fds: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.paths: tuple[str, str] = ("", "")

    def open(self) -> tuple[str, str]:
        """Create both ptys and start relaying; return (simulator side, client side) paths."""
        self._loop = asyncio.get_running_loop()
        (m1, s1), (m2, s2) = os.openpty(), os.openpty()
        # The slave ends stay open here so that a client closing its end does not hang the pty up.
        self._fds = [m1, s1, m2, s2]
        for slave in (s1, s2):
            tty.setraw(slave, termios.TCSANOW)
        for master in (m1, m2):
            os.set_blocking(master, False)
        self._loop.add_reader(m1, self._relay, m1, m2)
        self._loop.add_reader(m2, self._relay, m2, m1)
        self.paths = (os.ttyname(s1), os.ttyname(s2))
        return self.paths

    def _relay(self, src: int, dst: int) -> None:
        """Copy what one side wrote to the other; a full buffer drops bytes like a dead line."""
        try:
            data = os.read(src, 4096)
        except (BlockingIOError, OSError):
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(dst, data)

    def close(self) -> None:
        """Stop relaying and close every descriptor."""
        if self._loop is not None and self._fds:
            self._loop.remove_reader(self._fds[0])
            self._loop.remove_reader(self._fds[2])
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
