"""Cutting a scanner's byte stream into reads: CR, LF or CRLF, or an inter-character timeout."""

from __future__ import annotations

CR = 0x0D
LF = 0x0A
# Longer than any code we accept; a stream with no terminator is cut here so memory stays bounded.
MAX_READ_BYTES = 4096


class ReadFramer:
    """Accumulates bytes and hands back complete reads as text.

    Bytes become text through latin-1, which maps every byte to one character: garbage never
    fails to decode here and is judged (and rejected) by the decoder instead.
    """

    def __init__(self, max_bytes: int = MAX_READ_BYTES) -> None:
        self._buffer = bytearray()
        self._after_cr = False
        self._max = max_bytes

    @property
    def pending(self) -> bool:
        """True while part of a read is waiting for its terminator or timeout."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[str]:
        """Add bytes from the port; return every read they complete, in order."""
        reads: list[str] = []
        for byte in data:
            if byte == LF and self._after_cr:
                # The LF of a CRLF: the read already ended at the CR.
                self._after_cr = False
                continue
            self._after_cr = byte == CR
            if byte in (CR, LF):
                reads.extend(self._take())
                continue
            self._buffer.append(byte)
            if len(self._buffer) >= self._max:
                reads.extend(self._take())
        return reads

    def timeout(self) -> list[str]:
        """The inter-character timeout expired: whatever is buffered is a whole read."""
        self._after_cr = False
        return self._take()

    def _take(self) -> list[str]:
        """Empty the buffer into at most one read (blank lines are not reads)."""
        if not self._buffer:
            return []
        text = self._buffer.decode("latin-1")
        self._buffer.clear()
        return [text]
