"""The hardware error tree: transient faults are retried, permanent ones need a person."""


class HardwareError(Exception):
    """Any failure to talk to, or get sense out of, a piece of cabinet hardware."""

    def __init__(self, device: str, message: str) -> None:
        super().__init__(f"{device}: {message}")
        self.device = device


class TransientHardwareError(HardwareError):
    """A timeout, CRC error or busy device: the same request may succeed if retried."""


class ProtocolError(TransientHardwareError):
    """The device answered, but with a frame or value that makes no sense (exception, garbage)."""


class DeviceDown(TransientHardwareError):
    """Several consecutive requests failed: the device is marked down until it answers again.

    Drivers keep trying a down device (once per request, without retries, so it cannot starve a
    shared bus); its first good answer clears the mark.
    """


class PermanentHardwareError(HardwareError):
    """Wiring or configuration is wrong (no such port, unknown unit): retrying will not help."""
