"""A fake barcode reader: the test presents scans (badges, wristbands, packs, garbage) in order."""

from __future__ import annotations

import asyncio
import datetime as dt

import hal
from cabinet.clock import Clock


class FakeBarcodeReader:
    """`hal.BarcodeReader` fed by the test through an asyncio queue of scans."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.queue: asyncio.Queue[hal.Scan | hal.HardwareError] = asyncio.Queue()
        self.closed_transport = False

    async def read(self) -> hal.Scan:
        """The next scan presented, or the port failure injected before it."""
        item = await self.queue.get()
        if isinstance(item, hal.HardwareError):
            raise item
        return item

    def present(self, scan: hal.Scan) -> None:
        """Hold a code under the reader."""
        self.queue.put_nowait(scan)

    def badge(self, code: str) -> None:
        """Present a staff badge."""
        self.present(
            hal.Scan(
                raw=code,
                symbology="]C0",
                kind=hal.ScanKind.STAFF_BADGE,
                meaning=hal.StaffBadge(code=code),
                at=self._clock.monotonic(),
            )
        )

    def wristband(self, patient_id: str) -> None:
        """Present a patient's wristband."""
        self.present(
            hal.Scan(
                raw=patient_id,
                symbology="]C0",
                kind=hal.ScanKind.PATIENT_WRISTBAND,
                meaning=hal.PatientWristband(patient_id=patient_id),
                at=self._clock.monotonic(),
            )
        )

    def pack(self, gtin: str, lot: str, expiry: dt.date, serial: str) -> None:
        """Present a GS1 DataMatrix drug pack."""
        cip13 = gtin[1:] if gtin.startswith("03400") else None
        raw = f"01{gtin}17{expiry:%y%m%d}10{lot}\x1d21{serial}"
        self.present(
            hal.Scan(
                raw=raw,
                symbology="]d2",
                kind=hal.ScanKind.DRUG_PACK,
                meaning=hal.DrugPack(gtin=gtin, cip13=cip13, expiry=expiry, lot=lot, serial=serial),
                at=self._clock.monotonic(),
            )
        )

    def garbage(self, raw: str, reason: str = "not a code we accept") -> None:
        """Present something that decodes to nothing."""
        self.present(
            hal.Scan(
                raw=raw,
                symbology="",
                kind=hal.ScanKind.UNKNOWN,
                meaning=hal.UnknownCode(reason=reason),
                at=self._clock.monotonic(),
            )
        )

    def fail_port(self) -> None:
        """The serial port fails on the next read."""
        self.queue.put_nowait(hal.TransientHardwareError("scanner", "serial port vanished"))

    async def close(self) -> None:
        """Release the (imaginary) port."""
        self.closed_transport = True
