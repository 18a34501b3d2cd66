"""A scripted Modbus RTU peer on a pty: asserts each exact request frame, answers a literal one."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from drivers.modbus import ModbusLink

# The transmitter frames of the issue: (request, answer).
HX_STATUS = ("01 03 00 08 00 01 05 C8", "01 03 02 08 02 3E 45")  # 2 decimals, stable
HX_WEIGHT = ("01 03 00 50 00 02 C4 1A", "01 03 04 00 00 00 84 FA 50")  # 132
HX_NET = ("01 03 00 52 00 02 65 DA", "01 03 04 FF FF C1 EF EA 0B")  # -15889


def crc16(frame: bytes) -> bytes:
    """The Modbus RTU CRC of a frame, low byte first (used to corrupt, never to build, frames)."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def frame(text: str) -> bytes:
    """Bytes from a hex dump such as '01 03 00 08 00 01 05 C8'."""
    return bytes.fromhex(text)


@dataclass
class Step:
    """One exchange: the exact request we expect, and what the device sends back (None: silence)."""

    request: bytes
    answer: bytes | None
    delay_s: float = 0.0


@dataclass
class RtuScript:
    """The device side of a pty pair, fed by a list of steps, recording what it received."""

    master: int
    path: str
    steps: list[Step] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    _buffer: bytearray = field(default_factory=bytearray)

    def expect(
        self, request: str | bytes, answer: str | bytes | None, *, delay_s: float = 0.0
    ) -> None:
        """Queue one exchange, each side as hex text or bytes, the answer sent after a delay."""
        req = frame(request) if isinstance(request, str) else request
        ans = frame(answer) if isinstance(answer, str) else answer
        self.steps.append(Step(req, ans, delay_s))

    def on_readable(self) -> None:
        """Collect request bytes; once a whole expected frame is in, check it and answer."""
        try:
            self._buffer.extend(os.read(self.master, 4096))
        except OSError:
            return
        while self.steps and len(self._buffer) >= len(self.steps[0].request):
            step = self.steps.pop(0)
            got = bytes(self._buffer[: len(step.request)])
            del self._buffer[: len(step.request)]
            self.received.append(got)
            if got != step.request:
                self.mismatches.append(f"expected {step.request.hex(' ')} got {got.hex(' ')}")
            if step.answer is not None and step.delay_s > 0:
                asyncio.get_running_loop().call_later(step.delay_s, self._send, step.answer)
            elif step.answer is not None:
                self._send(step.answer)

    def _send(self, answer: bytes) -> None:
        """Put an answer on the wire (the pty may be gone if the test already ended)."""
        try:
            os.write(self.master, answer)
        except OSError:
            return

    @property
    def done(self) -> bool:
        """True when every queued exchange happened as scripted."""
        return not self.steps and not self.mismatches


@contextmanager
def rtu_pty() -> Iterator[RtuScript]:
    """A pty pair: the driver opens `script.path`; the script answers on the master side."""
    master, slave = os.openpty()
    # Raw from the start, so nothing is echoed or cooked before the driver configures the port.
    tty.setraw(slave)
    tty.setraw(master)
    script = RtuScript(master=master, path=os.ttyname(slave))
    loop = asyncio.get_running_loop()
    loop.add_reader(master, script.on_readable)
    try:
        yield script
    finally:
        loop.remove_reader(master)
        os.close(master)
        os.close(slave)


def link_on(script: RtuScript, *, retries: int = 0, down_after: int = 3) -> ModbusLink:
    """The real RTU link on the pty, impatient so that silent devices cost little time."""
    return ModbusLink.rtu(script.path, timeout_s=0.1, retries=retries, down_after=down_after)
