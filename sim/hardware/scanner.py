"""The simulated barcode imager: AIM-prefixed reads on a pty or a TCP port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import termios
import tty
from dataclasses import dataclass, field

GS = "\x1d"
TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "none": b""}
AIM_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
CODE128 = "]C0"
DATAMATRIX_GS1 = "]d2"
PTY_PATIENCE_S = 1.0


class ScanError(ValueError):
    """A scan command with arguments that cannot make a barcode."""


def expand(text: str) -> str:
    """Turn the console's spellings of the group separator (<GS>, \\x1d) into the byte."""
    return text.replace("<GS>", GS).replace("\\x1d", GS).replace("\\x1D", GS)


def with_aim(text: str) -> str:
    """Give a raw read an AIM identifier (Code 128) unless it already carries one."""
    return text if AIM_ID.match(text) else CODE128 + text


def _expiry(text: str) -> str:
    """An expiry as GS1 wants it (YYMMDD) from YYMMDD or YYYY-MM-DD; no calendar check."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        return m.group(1)[2:] + m.group(2) + m.group(3)
    if re.fullmatch(r"\d{6}", text):
        return text
    raise ScanError(f"expiry {text!r}: YYMMDD or YYYY-MM-DD is required")


def pack_code(gtin: str, lot: str, expiry: str, serial: str, *, separator: bool = True) -> str:
    """A GS1 DataMatrix drug pack read: ]d2 01 GTIN 17 EXPIRY 10 LOT <GS> 21 SERIAL.

    A 13-digit CIP13 gets its leading 0. The check digit is not corrected, so a technician
    can present a pack with a wrong one; separator=False drops the GS after the lot.
    """
    if not re.fullmatch(r"\d{13,14}", gtin):
        raise ScanError(f"GTIN {gtin!r}: 13 or 14 digits are required")
    if not lot or not serial or GS in lot + serial:
        raise ScanError("lot and serial must be non-empty and hold no GS")
    gtin14 = gtin.zfill(14)
    sep = GS if separator else ""
    return f"{DATAMATRIX_GS1}01{gtin14}17{_expiry(expiry)}10{lot}{sep}21{serial}"


@dataclass(frozen=True, kw_only=True)
class ScannerFormats:
    """How staff badges and patient wristbands are printed (site-specific conventions)."""

    badge: str = CODE128 + "B:{code}"
    wristband: str = CODE128 + "P:{ipp}"


@dataclass
class Scanner:
    """Delivers reads to whoever listens: a pty's other end or TCP clients."""

    terminator: bytes = b"\r"
    formats: ScannerFormats = field(default_factory=ScannerFormats)
    rng: random.Random = field(default_factory=random.Random)
    sent: int = 0
    _master: int = -1
    _slave: int = -1
    _clients: set[asyncio.StreamWriter] = field(default_factory=set)
    _server: asyncio.Server | None = None

    def open_pty(self) -> str:
        """Create a pty in raw mode (no CR translation, no echo) and return the reader's path."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave, termios.TCSANOW)
        os.set_blocking(self._master, False)
        return os.ttyname(self._slave)

    async def open_tcp(self, host: str, port: int) -> int:
        """Listen for reader connections on host:port (0 = any free port); return the port."""
        self._server = await asyncio.start_server(self._accept, host, port)
        sock = self._server.sockets[0]
        return int(sock.getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Keep a TCP client until it leaves; the imager ignores anything it sends."""
        self._clients.add(writer)
        try:
            while await reader.read(1024):
                pass
        finally:
            self._clients.discard(writer)
            writer.close()

    async def send(self, payload: bytes, *, terminated: bool = True) -> int:
        """Emit one read (with the configured terminator unless told not to)."""
        data = payload + (self.terminator if terminated else b"")
        if self._master >= 0:
            await self._write_pty(data)
        for w in list(self._clients):
            w.write(data)
            with contextlib.suppress(ConnectionError):
                await w.drain()
        self.sent += 1
        return len(data)

    async def _write_pty(self, data: bytes) -> None:
        """Write all of a read to the pty, waiting a little for a slow reader.

        A buffer still full after PTY_PATIENCE_S means nobody reads: like an imager's read
        with no host listening, the rest is lost.
        """
        deadline = asyncio.get_running_loop().time() + PTY_PATIENCE_S
        while data:
            try:
                data = data[os.write(self._master, data) :]
            except BlockingIOError:
                if asyncio.get_running_loop().time() > deadline:
                    return
                await asyncio.sleep(0.005)

    async def send_text(self, text: str, *, terminated: bool = True) -> None:
        """Emit a read typed as text: UTF-8 on the wire (ASCII, and GS, stay one byte each)."""
        await self.send(text.encode("utf-8", errors="replace"), terminated=terminated)

    def flush(self) -> None:
        """Drop reads still waiting in the pty for a reader that never came."""
        if self._slave >= 0:
            termios.tcflush(self._slave, termios.TCIFLUSH)

    async def scan(self, text: str) -> str:
        """Send a raw read, giving it an AIM identifier when it has none."""
        read = with_aim(expand(text))
        await self.send_text(read)
        return read

    async def garbage(self, n: int) -> bytes:
        """Send one read of n random bytes, as if the imager misread a damaged code.

        CR and LF are left out so that the junk arrives as one read, not several.
        """
        alphabet = [b for b in range(256) if b not in (0x0D, 0x0A)]
        junk = bytes(self.rng.choice(alphabet) for _ in range(n))
        await self.send(junk)
        return junk

    async def close(self) -> None:
        """Close the pty and the TCP listener and clients."""
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        for w in list(self._clients):
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
