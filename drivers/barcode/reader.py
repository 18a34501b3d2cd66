"""The barcode reader over a serial port (pyserial through serial_asyncio_fast) or over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections import deque
from collections.abc import Awaitable, Callable

import serial
import serial_asyncio_fast

from drivers.barcode.decode import decode
from drivers.barcode.framing import ReadFramer
from hal import PermanentHardwareError, Scan, TransientHardwareError

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class StreamBarcodeReader:
    """`hal.BarcodeReader` over any byte stream; the port is opened on first use and reopened
    after a failure, so a scanner unplugged and plugged back in needs no restart.

    Garbage is returned as a `Scan` of kind UNKNOWN (with the reason) and reading goes on; only
    a port that fails raises `hal.TransientHardwareError` (or `PermanentHardwareError` when it
    cannot exist at all).
    """

    def __init__(
        self,
        opener: Opener,
        *,
        name: str,
        inter_char_timeout_s: float = 0.08,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if inter_char_timeout_s <= 0:
            raise ValueError("inter_char_timeout_s must be > 0")
        self.name = name
        self._opener = opener
        self._gap = inter_char_timeout_s
        self._clock = clock
        self._framer = ReadFramer()
        self._ready: deque[str] = deque()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> None:
        """Open the port now rather than at the first read (opening a serial port flushes it)."""
        await self._open()

    async def read(self) -> Scan:
        """Wait for the next complete read and return it decoded."""
        while not self._ready:
            stream = await self._open()
            # Once a read has started, silence longer than the gap ends it.
            gap = self._gap if self._framer.pending else None
            try:
                data = await asyncio.wait_for(stream[0].read(1024), gap)
            except TimeoutError:
                self._ready.extend(self._framer.timeout())
                continue
            except OSError as exc:
                await self._drop()
                raise TransientHardwareError(self.name, f"read failed: {exc}") from exc
            if not data:
                # The peer hung up: a read it left unterminated is still a whole read.
                tail = self._framer.timeout()
                await self._drop()
                if tail:
                    self._ready.extend(tail)
                    continue
                raise TransientHardwareError(self.name, "port closed")
            self._ready.extend(self._framer.feed(data))
        return decode(self._ready.popleft(), at=self._clock())

    async def close(self) -> None:
        """Release the port."""
        await self._drop()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The open stream, opening it if needed; opening errors become hal errors."""
        if self._stream is None:
            try:
                self._stream = await self._opener()
            except ValueError as exc:
                raise PermanentHardwareError(self.name, f"cannot open: {exc}") from exc
            except OSError as exc:
                # pyserial's SerialException is an OSError carrying the errno of the open.
                if exc.errno == errno.ENOENT:
                    raise PermanentHardwareError(self.name, f"no such port: {exc}") from exc
                raise TransientHardwareError(self.name, f"cannot open: {exc}") from exc
            self._framer = ReadFramer()
        return self._stream

    async def _drop(self) -> None:
        """Close the stream (if any) so that the next read reopens it."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream[1].close()
            # Already broken: closing was all we wanted.
            with contextlib.suppress(OSError, serial.SerialException):
                await stream[1].wait_closed()


def serial_reader(
    port: str, *, baudrate: int = 9600, inter_char_timeout_s: float = 0.08
) -> StreamBarcodeReader:
    """A reader on a serial port (USB-CDC, RS-232 or a pty), 8N1."""

    async def opener() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open the port through serial_asyncio_fast (non-blocking, unlike pyserial-asyncio)."""
        return await serial_asyncio_fast.open_serial_connection(url=port, baudrate=baudrate)

    return StreamBarcodeReader(
        opener, name=f"scanner {port}", inter_char_timeout_s=inter_char_timeout_s
    )


def tcp_reader(
    host: str, port: int, *, inter_char_timeout_s: float = 0.08, connect_timeout_s: float = 2.0
) -> StreamBarcodeReader:
    """A reader behind a TCP endpoint (a serial-to-Ethernet box, or the simulator)."""

    async def opener() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect, bounded in time."""
        return await asyncio.wait_for(asyncio.open_connection(host, port), connect_timeout_s)

    return StreamBarcodeReader(
        opener, name=f"scanner tcp://{host}:{port}", inter_char_timeout_s=inter_char_timeout_s
    )
