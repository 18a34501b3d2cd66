"""What the barcode reader read, as the screen needs it: a badge awaiting its PIN, a witness's
badge, a pack to load.

In the daemon the workflows own the reader (they sign in by badge and hold the last pack): this
router then only reads their state. When nobody else reads it, the router reads it itself and
routes each read the same way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import hal
from cabinet.clock import Clock
from cabinet.domain.refusals import Language, Refused
from cabinet.ui.events import EventHub
from cabinet.workflows.api import Cabinet
from cabinet.workflows.views import PendingBadge

log = logging.getLogger("cabinet.ui")


@dataclass(frozen=True, kw_only=True)
class Held:
    """Something read that waits for the screen: since when, and what."""

    at: float
    badge: PendingBadge | None = None
    code: str = ""
    scan: hal.Scan | None = None


class ScanRouter:
    """One reader, several meanings: who is at the screen decides where a read goes."""

    def __init__(
        self,
        cabinet: Cabinet,
        hub: EventHub,
        clock: Clock,
        language: Language,
        ttl_s: float = 60,
        names: Callable[[str], str] | None = None,
    ) -> None:
        """Keep what the object needs; nothing starts here."""
        self._cabinet = cabinet
        self._names = names or (lambda user_id: user_id)
        self.reading = False  # True while this router reads the reader itself
        self._hub = hub
        self._clock = clock
        self._language: Language = language
        self._ttl_s = ttl_s
        self._pending: Held | None = None
        self._witness: Held | None = None
        self._pack: Held | None = None
        self._notice: tuple[float, str] | None = None

    def _fresh(self, held: Held | None) -> Held | None:
        """A held read, unless it has waited too long to be trusted."""
        if held is None or self._clock.monotonic() - held.at > self._ttl_s:
            return None
        return held

    @property
    def pending_badge(self) -> PendingBadge | None:
        """The badge read at the sign-in screen, whose owner is to type the PIN."""
        if not self.reading:
            user_id = self._cabinet.badge_waiting()
            if user_id is None:
                return None
            return PendingBadge(user_id=user_id, name=self._names(user_id))
        held = self._fresh(self._pending)
        return held.badge if held else None

    @property
    def witness_badge(self) -> str | None:
        """The raw code of a badge read while someone is signed in (a witness signing in)."""
        if not self.reading:
            return self._cabinet.witness_badge_waiting()
        held = self._fresh(self._witness)
        return held.code if held else None

    @property
    def pack(self) -> hal.Scan | None:
        """The last drug pack read (for a restock)."""
        if not self.reading:
            return self._cabinet.core.last_pack
        held = self._fresh(self._pack)
        return held.scan if held else None

    @property
    def notice(self) -> str | None:
        """Why the last read was refused, for the sign-in screen (kept a few seconds)."""
        if self._notice is None or self._clock.monotonic() - self._notice[0] > 10:
            return None
        return self._notice[1]

    def clear(self) -> None:
        """Forget every read this router holds (sign-in done, sign-out, cancel)."""
        self._pending = self._witness = self._pack = None

    def clear_witness(self) -> None:
        """The witness has signed in, or the read was not a witness's: the next read counts."""
        self._witness = None

    async def handle(self, scan: hal.Scan) -> None:
        """Route one read; a refusal is published, never raised into the reader's loop."""
        now = self._clock.monotonic()
        meaning = scan.meaning
        if isinstance(meaning, hal.StaffBadge):
            if self._cabinet.core.session is None:
                try:
                    badge = await self._cabinet.sign_in_badge(meaning.code)
                except Refused as refused:
                    self._pending = None
                    self._publish_refusal(refused)
                    return
                self._pending = Held(at=now, badge=badge)
                self._notice = None
                self._hub.publish("scan", {"kind": "badge", "name": badge.name})
            else:
                self._witness = Held(at=now, code=meaning.code)
                self._hub.publish("scan", {"kind": "witness_badge"})
        elif isinstance(meaning, hal.DrugPack):
            self._pack = Held(at=now, scan=scan)
            self._hub.publish(
                "scan",
                {
                    "kind": "pack",
                    "gtin": meaning.gtin,
                    "lot": meaning.lot,
                    "expiry": meaning.expiry.isoformat(),
                },
            )
        elif isinstance(meaning, hal.PatientWristband):
            if self._cabinet.core.session is None:
                return
            try:
                await self._cabinet.select_patient(meaning.patient_id)
            except Refused as refused:
                self._publish_refusal(refused)
                return
            self._hub.publish("scan", {"kind": "wristband", "patient_id": meaning.patient_id})
        else:
            reason = meaning.reason if isinstance(meaning, hal.UnknownCode) else ""
            self._hub.publish("scan", {"kind": "unknown", "reason": reason})

    def _publish_refusal(self, refused: Refused) -> None:
        """Tell the screen why a read was refused, in its language."""
        text = refused.text(self._language)
        self._notice = (self._clock.monotonic(), text)
        self._hub.publish("refused", {"code": refused.code.value, "message": text})

    async def run(self, reader: hal.BarcodeReader) -> None:
        """Read forever; a failing port is retried, garbage is reported and skipped."""
        self.reading = True
        while True:
            try:
                scan = await reader.read()
            except hal.HardwareError as exc:
                log.warning("scanner read failed error=%s", exc)
                await asyncio.sleep(1.0)
                continue
            try:
                await self.handle(scan)
            except Exception:
                # A bug in routing one read must not stop the reader for the next nurse.
                log.exception("scan routing failed kind=%s", scan.kind.value)
