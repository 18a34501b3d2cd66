"""Screen data the workflow API returns: plain frozen values, ready to serialise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cabinet.domain.refusals import RefusalCode


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionView:
    """Who is signed in, with which roles, and which patient is selected."""

    user_id: str
    name: str
    roles: tuple[str, ...]
    patient_id: str | None
    expires_in_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingBadge:
    """A badge was recognised; the PIN is still to come."""

    user_id: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientRow:
    """One line of the patient list, with the doses due now and those overdue."""

    patient_id: str
    name: str
    room: str | None
    bed: str | None
    allergies: tuple[str, ...]
    due: int
    overdue: int


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderView:
    """One order of the selected patient as the nurse sees it, dispensable or with the reason."""

    order_id: str
    item_code: str
    item_name: str
    strength: str
    form: str
    dose: int
    kind: str  # scheduled or prn
    controlled: bool
    high_alert: bool
    allergies: tuple[str, ...]
    warnings: tuple[str, ...]
    next_allowed_at: str | None
    dispensable: bool
    refusal: RefusalCode | None
    refusal_params: dict[str, Any] = field(default_factory=dict)
    # A verified scheduled order: the dose time due now, and today's times missed (ISO).
    due_at: str | None = None
    overdue_at: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class DispenseTicket:
    """A task in progress: where to go, what to do next, and what the screen should show."""

    task_id: str
    kind: str  # dispense, override, restock, return, count, waste
    step: str  # the machine's current state
    item_code: str | None
    item_name: str | None
    quantity: int
    drawer: int | None
    pocket: int | None
    controlled: bool
    needs_blind_count: bool
    needs_witness: bool
    patient_id: str | None = None
    order_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemMatch:
    """An item found by the override search."""

    item_code: str
    name: str
    strength: str
    form: str
    controlled: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class DiscrepancyView:
    """One discrepancy, open or resolved."""

    discrepancy_id: int
    opened_at: str
    opened_by: str | None
    drawer: int
    pocket: int
    item_code: str | None
    expected: int
    counted: int
    cause: str
    status: str
    reason: str | None
    controlled: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class AlarmView:
    """One alarm as recorded."""

    alarm_id: int
    raised_at: str
    kind: str
    severity: str
    message: str
    cleared_at: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class CabinetStatus:
    """The cabinet at a glance: can drawers open, what is wrong, what is in progress."""

    ready: bool
    degraded: bool
    degraded_reason: str
    hardware_ok: bool
    open_alarms: int
    open_discrepancies: int
    task: DispenseTicket | None
    signed_in: str | None
