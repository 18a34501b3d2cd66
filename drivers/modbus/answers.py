"""The boundary with pymodbus: its errors mapped once into hal faults, and the answer checks.

The transport raises these faults inside a request and turns the last one into the public
`hal` error once its retries are spent, so the reason is kept apart from the device name.
"""

from __future__ import annotations

from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from hal import HardwareError, PermanentHardwareError, ProtocolError, TransientHardwareError

# Exception codes a device uses to say "not now": worth a retry. Every other code (illegal
# function, address or value, gateway faults) means the request itself is wrong for it.
BUSY_CODES = frozenset({5, 6})


class TransientFault(TransientHardwareError):
    """A transient fault that remembers its bare reason for the final message."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(device, reason)
        self.reason = reason


class ProtocolFault(ProtocolError):
    """A protocol fault that remembers its bare reason and whether a retry may help."""

    def __init__(self, device: str, reason: str, *, retryable: bool) -> None:
        super().__init__(device, reason)
        self.reason = reason
        self.retryable = retryable


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, for one-line error messages."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def registers_of(response: ModbusPDU, count: int) -> list[int]:
    """The registers of a read answer, refused unless there are exactly `count` of them."""
    registers = list(getattr(response, "registers", None) or [])
    if len(registers) != count:
        raise ProtocolFault(
            "", f"asked for {count} registers, got {len(registers)}", retryable=True
        )
    return registers


def bits_of(response: ModbusPDU, count: int) -> list[bool]:
    """The bits of a read answer; pymodbus pads to whole bytes: fewer is wrong, more is padding."""
    bits = list(getattr(response, "bits", None) or [])
    if len(bits) < count or len(bits) > ((count + 7) // 8) * 8:
        raise ProtocolFault("", f"asked for {count} bits, got {len(bits)}", retryable=True)
    return [bool(b) for b in bits[:count]]


def no_payload(response: ModbusPDU) -> None:
    """A write answer carries nothing we use: pymodbus already matched it to the request."""
    del response


def fault_from(device: str, exc: Exception) -> HardwareError:
    """The hal fault for what pymodbus, pyserial or the OS raised during one request."""
    if isinstance(exc, ModbusIOException):
        return TransientFault(device, f"no answer ({first_line(exc)})")
    if isinstance(exc, ConnectionException):
        return TransientFault(device, f"connection lost ({first_line(exc)})")
    if isinstance(exc, TimeoutError):
        return TransientFault(device, "no answer in time")
    if isinstance(exc, FileNotFoundError | PermissionError | ValueError):
        return PermanentHardwareError(device, f"cannot open: {exc}")
    if isinstance(exc, OSError):
        return TransientFault(device, f"I/O error: {exc}")
    if isinstance(exc, ModbusException):
        return ProtocolFault(device, f"bad frame ({first_line(exc)})", retryable=False)
    # A decoding bug below us must not kill the poller: it is an answer we cannot use.
    return ProtocolFault(device, f"undecodable answer ({exc!r})", retryable=False)


def checked(device: str, response: ModbusPDU | None) -> ModbusPDU:
    """The answer itself, unless it is missing or an exception response."""
    if response is None:
        raise TransientFault(device, "no answer")
    if response.isError():
        code = int(getattr(response, "exception_code", 0))
        raise ProtocolFault(device, f"exception response {code}", retryable=code in BUSY_CODES)
    return response
