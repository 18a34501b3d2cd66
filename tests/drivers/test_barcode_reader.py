"""The barcode reader on a real pty and a real TCP socket: terminators, timeouts and garbage."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.barcode.framing import ReadFramer
from drivers.barcode.reader import StreamBarcodeReader, serial_reader, tcp_reader
from drivers.build import scanner_from_config
from hal import (
    DrugPack,
    PermanentHardwareError,
    Scan,
    ScanKind,
    StaffBadge,
    TransientHardwareError,
)

GS = b"\x1d"
PACK = b"]d201034009338167591714050010B04059A" + GS + b"21SERIAL1"


@dataclass
class Pty:
    """The scanner's side of a pty pair and the reader on the other side."""

    master: int
    reader: StreamBarcodeReader

    def send(self, data: bytes) -> None:
        """What the imager would put on the wire."""
        os.write(self.master, data)


@pytest.fixture
async def pty() -> AsyncIterator[Pty]:
    """A reader opened on the slave side of a fresh pty (the way a USB-CDC port looks)."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    reader = serial_reader(os.ttyname(slave), baudrate=9600, inter_char_timeout_s=0.05)
    # Opening a serial port flushes its input: open before the imager sends anything.
    await reader.open()
    try:
        yield Pty(master, reader)
    finally:
        await reader.close()
        os.close(master)
        os.close(slave)


async def next_scan(reader: StreamBarcodeReader) -> Scan:
    """The next scan, with a bound so that a bug cannot hang the suite."""
    return await asyncio.wait_for(reader.read(), 2.0)


@pytest.mark.parametrize("terminator", [b"\r", b"\n", b"\r\n"])
async def test_each_terminator_ends_a_read(pty: Pty, terminator: bytes) -> None:
    """CR, LF and CRLF each end exactly one read (CRLF does not make an empty second read)."""
    pty.send(PACK + terminator + b"]C0B:NURSE-0042" + terminator)
    first = await next_scan(pty.reader)
    second = await next_scan(pty.reader)
    assert isinstance(first.meaning, DrugPack) and first.meaning.serial == "SERIAL1"
    assert second.meaning == StaffBadge(code="NURSE-0042")


async def test_read_without_terminator_ends_on_silence(pty: Pty) -> None:
    """A reader configured without suffix: the inter-character timeout ends the read."""
    pty.send(b"]C0P:800123456")
    scan = await next_scan(pty.reader)
    assert scan.kind is ScanKind.PATIENT_WRISTBAND


async def test_read_split_across_writes_is_one_read(pty: Pty) -> None:
    """Bytes arriving in pieces closer than the timeout make one read; CR and LF may split."""
    pty.send(PACK[:10])
    await asyncio.sleep(0.01)
    pty.send(PACK[10:] + b"\r")
    await asyncio.sleep(0.01)
    pty.send(b"\n]C0B:ABCD\r\n")
    first = await next_scan(pty.reader)
    second = await next_scan(pty.reader)
    assert first.kind is ScanKind.DRUG_PACK
    assert second.meaning == StaffBadge(code="ABCD")


async def test_garbage_then_a_good_read(pty: Pty) -> None:
    """Line noise is an UNKNOWN scan with a reason, and the next pack still decodes."""
    pty.send(b"\x00\xff\x13\x88garbage\x7f\r" + PACK + b"\r")
    junk = await next_scan(pty.reader)
    good = await next_scan(pty.reader)
    assert junk.kind is ScanKind.UNKNOWN
    assert good.kind is ScanKind.DRUG_PACK


async def test_merged_lot_is_refused_and_reading_goes_on(pty: Pty) -> None:
    """A pack with its GS lost is refused; the next read is served."""
    pty.send(PACK.replace(GS, b"") + b"\r\n]C0B:NURSE-0042\r\n")
    merged = await next_scan(pty.reader)
    badge = await next_scan(pty.reader)
    assert merged.kind is ScanKind.UNKNOWN
    assert badge.kind is ScanKind.STAFF_BADGE


async def test_missing_port_is_permanent() -> None:
    """A port that does not exist is a wiring or configuration fault."""
    reader = scanner_from_config(transport="serial", serial_port="/dev/does-not-exist-cabinet")
    with pytest.raises(PermanentHardwareError):
        await reader.read()
    await reader.close()


async def test_tcp_reader_reconnects_after_the_peer_hangs_up() -> None:
    """Over TCP: a closed connection is transient, and the next read reconnects."""
    sessions: list[asyncio.StreamWriter] = []

    async def scanner(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """First connection: one badge, then hang up; second: one pack."""
        sessions.append(writer)
        if len(sessions) == 1:
            writer.write(b"]C0B:NURSE-0042\r\n")
            await writer.drain()
            writer.close()
        else:
            writer.write(PACK + b"\r\n")
            await writer.drain()

    server = await asyncio.start_server(scanner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader = tcp_reader("127.0.0.1", port, inter_char_timeout_s=0.05)
    try:
        assert (await next_scan(reader)).kind is ScanKind.STAFF_BADGE
        with pytest.raises(TransientHardwareError):
            await next_scan(reader)
        assert (await next_scan(reader)).kind is ScanKind.DRUG_PACK
    finally:
        await reader.close()
        for writer in sessions:
            writer.close()
        server.close()
        await server.wait_closed()


def test_framer_bounds_a_read_that_never_ends() -> None:
    """A stream with no terminator is cut at the maximum length: memory stays bounded."""
    framer = ReadFramer(max_bytes=16)
    reads = framer.feed(b"x" * 40)
    assert reads == ["x" * 16, "x" * 16]
    assert framer.timeout() == ["x" * 8]
    assert framer.feed(b"\r\n\r\n") == []


@given(
    st.lists(
        st.sampled_from([b"\r", b"\n", b"\r\n", b"]C0B:ABCD", b"\x1d", b"\x00", b"P:1"]),
        max_size=30,
    ),
    st.lists(st.integers(min_value=0, max_value=200), max_size=10),
)
def test_framer_reads_do_not_depend_on_chunking(parts: list[bytes], cuts: list[int]) -> None:
    """However the port splits the stream into chunks, the same reads come out."""
    stream = b"".join(parts)
    whole = ReadFramer()
    expected = [*whole.feed(stream), *whole.timeout()]
    chunked = ReadFramer()
    got: list[str] = []
    last = 0
    for cut in sorted(c for c in cuts if c <= len(stream)):
        got += chunked.feed(stream[last:cut])
        last = cut
    got += [*chunked.feed(stream[last:]), *chunked.timeout()]
    assert got == expected
    assert all(read and "\r" not in read and "\n" not in read for read in got)


async def test_tcp_read_left_unterminated_at_hang_up_is_kept() -> None:
    """A peer that sends a code and hangs up without a terminator: the read is not lost."""

    async def scanner(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Send one badge without a terminator and hang up."""
        writer.write(b"]C0B:NURSE-0042")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(scanner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader = tcp_reader("127.0.0.1", port, inter_char_timeout_s=5.0)
    try:
        assert (await next_scan(reader)).meaning == StaffBadge(code="NURSE-0042")
    finally:
        await reader.close()
        server.close()
        await server.wait_closed()
