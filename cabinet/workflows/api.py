"""The workflow API: the one async object the touchscreen, the local API and the tests drive.

    cab = Cabinet(store, coordinator, clock, Settings(inactivity_s=60))
    await cab.start()                         # reconcile what a previous run left open
    events = cab.subscribe()                  # asyncio.Queue of WorkflowEvent (events.py)
    await cab.sign_in_badge(code)             # -> PendingBadge; then
    await cab.sign_in_pin("1234")             # or sign_in_pin("1234", user_id="nurse1")
    await cab.select_patient("IPP0001")       # one patient at a time
    cab.orders_for()                          # OrderView: allergies, warnings, why not
    t = await cab.start_dispense(order_id)    # -> DispenseTicket (drawer, pocket, step)
    await cab.enter_blind_count(12)           # controlled items only, before the release
    await cab.confirm()                       # the coordinator releases the pocket's drawer
    ...the nurse takes; the drawer closes; the weights settle: Committed or DiscrepancyOpened
    await cab.cancel()                        # before release: nothing; after: count-back

Other tasks follow the same ticket/confirm/cancel shape: start_override(item, reason_code,
prescriber) after override_search(text); start_waste(item, qty) + witness_sign_in(pin, user_id
or badge) + confirm(); start_return(item, qty); start_restock(drawer, pocket) +
scan_pack(scan, qty or None to count by weight); start_count(drawer, pocket) + enter_count(n).
Pharmacists: discrepancies(), resolve_discrepancy(id, reason) (witness first when
controlled), pending_overrides(), review_override(seq), acknowledge_tamper(). Anyone:
patient_list(), ticket(), alarms(), status(). Scans from the reader go to handle_scan().

Every command either does what it says or raises `Refused` (cabinet.domain.refusals) with a
`RefusalCode`, translatable with `.text("fr" | "en")`, and changes nothing; the refusal is also
published as a `RefusedEvent`. Commands and hardware events are handled one at a time.
`tick()` runs the timers (inactivity sign-out, unused release, settle timeout, omissions,
override linking) on the injected clock; `start()` runs it every second in the daemon.
`checkpoints` is a list of callbacks `(point, task)` called at the named points of a task:
after_release, after_open, after_close, weights_read, before_commit, after_commit.
"""

from __future__ import annotations

import logging

import hal
from cabinet.domain.refusals import RefusalCode
from cabinet.domain.roles import Action, may
from cabinet.hardware.errors import HardwareUnavailable
from cabinet.store import NewEvent
from cabinet.workflows import (
    discrepancy,
    screens,
    session,
    tasks,
    waste,
    watch,
)
from cabinet.workflows.engine import Engine
from cabinet.workflows.views import (
    AlarmView,
    CabinetStatus,
    DiscrepancyView,
    DispenseTicket,
    ItemMatch,
    OrderView,
    PatientRow,
    PendingBadge,
    SessionView,
)

log = logging.getLogger("cabinet.workflows")


class Cabinet(Engine):
    """Sessions, dispensing and every other workflow of one cabinet, over its coordinator."""

    # -- sessions --------------------------------------------------------------------------

    async def sign_in_badge(self, code: str) -> PendingBadge:
        """A badge was scanned: remember who, and wait for the PIN."""
        async with self._command():
            return await screens.badge(self.core, code)

    async def sign_in_scan(self, scan: hal.Scan) -> PendingBadge:
        """A staff badge read by the barcode reader."""
        if scan.kind is not hal.ScanKind.STAFF_BADGE or not isinstance(
            scan.meaning, hal.StaffBadge
        ):
            self.core.refuse(RefusalCode.BAD_BARCODE)
        return await self.sign_in_badge(scan.meaning.code)

    async def sign_in_pin(self, pin: str, user_id: str | None = None) -> SessionView:
        """Sign in with a PIN, for the user id given or the badge just scanned."""
        async with self._command():
            await session.sign_in(self.core, user_id, pin)
            return screens.session_view(self.core)

    async def cancel_badge(self) -> None:
        """Forget the badge read at the sign-in screen (the wrong person scanned): start over."""
        async with self._command():
            if self.core.session is None:
                self.core.pending_badge = None

    def badge_waiting(self) -> str | None:
        """The user id of a badge read at the sign-in screen and waiting for its PIN."""
        return self.core.held_badge()

    def witness_badge_waiting(self) -> str | None:
        """The code of a badge read during the session (a witness), waiting for its PIN."""
        return self.core.held_witness_badge()

    async def sign_out(self) -> None:
        """Sign out; a task not yet released is cancelled."""
        async with self._command():
            watch.end_session(self.core, "sign_out")

    async def witness_sign_in(
        self, pin: str, user_id: str | None = None, badge: str | None = None
    ) -> str:
        """A second user signs in at this screen to witness the current action.

        By user id, by a badge code, or (neither given) by the badge the reader read last.
        """
        async with self._command():
            user = await session.witness(self.core, user_id, badge, pin)
            task = self.core.task
            if task is not None and task.kind == "waste" and task.state == "prepared":
                waste.witnessed(self.core, task, user.id)
            return user.id

    def session(self) -> SessionView | None:
        """Who is signed in."""
        return screens.session_view(self.core) if self.core.session else None

    # -- patients and orders ---------------------------------------------------------------

    async def select_patient(self, patient_id: str) -> PatientRow:
        """Select the one patient this session works for."""
        async with self._command():
            return screens.select_patient(self.core, patient_id)

    async def clear_patient(self) -> None:
        """Deselect the patient (only between tasks)."""
        async with self._command():
            screens.clear_patient(self.core)

    def patient_list(self) -> list[PatientRow]:
        """Every patient with the scheduled doses due now and overdue."""
        self.core.signed_in()
        return screens.patient_list(self.core)

    def orders_for(self, patient_id: str | None = None) -> list[OrderView]:
        """The patient's orders: dispensable now, or why not, with allergies and warnings."""
        return screens.orders_for(self.core, patient_id)

    # -- tasks -----------------------------------------------------------------------------

    async def start_dispense(self, order_id: str, quantity: int | None = None) -> DispenseTicket:
        """Prepare a dose of one of the selected patient's orders (quantity = the dose)."""
        async with self._command():
            return screens.ticket(self.core, tasks.start_dispense(self.core, order_id, quantity))

    async def enter_blind_count(self, counted: int) -> DispenseTicket:
        """The nurse's count of a controlled pocket before it opens."""
        async with self._command():
            return screens.ticket(self.core, tasks.enter_blind_count(self.core, counted))

    async def confirm(self) -> DispenseTicket:
        """Go: release the task's drawer (or write the waste)."""
        async with self._command():
            return await watch.confirm(self.core)

    async def cancel(self) -> DispenseTicket | None:
        """Cancel the task; after a release the weight checks that nothing was taken."""
        async with self._command():
            return await watch.cancel(self.core)

    def ticket(self) -> DispenseTicket | None:
        """The task in progress."""
        task = self.core.task
        return None if task is None else screens.ticket(self.core, task)

    def override_search(self, text: str) -> list[ItemMatch]:
        """Items of the override list matching the text (5 letters, or one single match)."""
        found = tasks.override_search(self.core, text)
        return [
            ItemMatch(
                item_code=i.code,
                name=i.name,
                strength=i.strength,
                form=i.form,
                controlled=i.controlled,
            )
            for i in found
        ]

    async def start_override(
        self, item_code: str, reason_code: str, prescriber: str, quantity: int = 1
    ) -> DispenseTicket:
        """Take an item of the override list for the selected patient before an order exists."""
        async with self._command():
            task = tasks.start_override(self.core, item_code, reason_code, prescriber, quantity)
            return screens.ticket(self.core, task)

    async def start_waste(
        self, item_code: str, quantity: int, order_id: str | None = None
    ) -> DispenseTicket:
        """Declare units of a dose that will not be given (witness for controlled items)."""
        async with self._command():
            task = waste.start_waste(self.core, item_code, quantity, order_id)
            return screens.ticket(self.core, task)

    async def start_return(self, item_code: str, quantity: int) -> DispenseTicket:
        """Put an unused dose into the return bin."""
        async with self._command():
            return screens.ticket(self.core, tasks.start_return(self.core, item_code, quantity))

    async def start_restock(self, drawer: int, pocket: int) -> DispenseTicket:
        """A technician loads a pocket: scan the pack next."""
        async with self._command():
            return screens.ticket(self.core, tasks.start_restock(self.core, drawer, pocket))

    async def scan_pack(self, scan: hal.Scan, quantity: int | None = None) -> DispenseTicket:
        """The pack being loaded and how many units go in (None: the weight counts them)."""
        async with self._command():
            return screens.ticket(self.core, tasks.scan_pack(self.core, scan, quantity))

    async def start_count(self, drawer: int, pocket: int) -> DispenseTicket:
        """A blind inventory count of one pocket."""
        async with self._command():
            return screens.ticket(self.core, tasks.start_count(self.core, drawer, pocket))

    async def enter_count(self, counted: int) -> DispenseTicket | None:
        """The count seen in the pocket (blind); compared once the drawer has closed."""
        async with self._command():
            return await watch.enter_count(self.core, counted)

    # -- pharmacist ------------------------------------------------------------------------

    def discrepancies(self, *, open_only: bool = True) -> list[DiscrepancyView]:
        """Discrepancies, open ones by default."""
        return screens.discrepancies(self.core, open_only=open_only)

    async def resolve_discrepancy(self, discrepancy_id: int, reason: str) -> int:
        """A pharmacist resolves a discrepancy (witness signed in first for controlled items)."""
        async with self._command():
            return discrepancy.resolve(self.core, discrepancy_id, reason)

    def pending_overrides(self) -> list[dict[str, object]]:
        """Overrides awaiting pharmacist review, with the order linked once it arrived."""
        return watch.pending_overrides(self.core)

    async def review_override(self, seq: int, note: str = "") -> int:
        """A pharmacist reviews an override (flag cleared, event recorded)."""
        async with self._command():
            current = self.core.signed_in()
            if not may(current.roles, Action.REVIEW_OVERRIDE):
                self.core.refuse(RefusalCode.NOT_AUTHORISED)
            return watch.review_override(self.core, seq, note)

    # -- cabinet ---------------------------------------------------------------------------

    def alarms(self, *, active_only: bool = True) -> list[AlarmView]:
        """Recorded alarms, active ones by default."""
        return screens.alarms(self.core, active_only=active_only)

    async def acknowledge_tamper(self) -> int:
        """A pharmacist checked a forced drawer: relock everything and record who did."""
        async with self._command():
            current = self.core.signed_in()
            if not may(current.roles, Action.ACKNOWLEDGE_TAMPER):
                self.core.refuse(RefusalCode.NOT_AUTHORISED)
            if self.core.task is not None:
                self.core.refuse(RefusalCode.TASK_IN_PROGRESS)
            try:
                await self.core.hardware.acknowledge_tamper()
            except HardwareUnavailable as exc:
                self.core.refuse(RefusalCode.HARDWARE_UNAVAILABLE, detail=str(exc))
            event = self.core.store.record(
                NewEvent(kind="tamper_acknowledged", actor=current.user_id)
            )
            return event.seq

    def status(self) -> CabinetStatus:
        """Can drawers open, what is wrong, what is in progress."""
        return screens.status(self.core)
