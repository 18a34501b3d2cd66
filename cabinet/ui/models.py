"""Request and response bodies of the local API (they make the published OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Pin = Annotated[str, Field(min_length=4, max_length=12, pattern=r"^[0-9]+$")]
Units = Annotated[int, Field(ge=1, le=999)]
Count = Annotated[int, Field(ge=0, le=9999)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


class Body(BaseModel):
    """Every request body refuses unknown fields: a typo must not pass silently."""

    model_config = ConfigDict(extra="forbid")


class SignIn(Body):
    """A PIN, for the badge just scanned or for the user id given."""

    pin: Pin
    user_id: Id | None = None


class Dispense(Body):
    """One of the patient's orders to dispense now."""

    patient_id: Id
    order_id: Id


class CountEntry(Body):
    """A count typed on the pad: a blind count before the release, or an inventory count."""

    count: Count


class PackLoad(Body):
    """How many units of the scanned pack go into the pocket."""

    quantity: Units


class Override(Body):
    """An item of the override list for the selected patient, with reason and prescriber."""

    patient_id: Id
    item_code: Id
    reason: Code
    prescriber: Annotated[str, Field(min_length=1, max_length=80)]
    quantity: Units = 1


class Waste(Body):
    """Units of a dose that will not be given."""

    item_code: Id
    quantity: Units
    order_id: Id | None = None


class Return(Body):
    """An unused dose going into the return bin."""

    item_code: Id
    quantity: Units


class PocketRef(Body):
    """One pocket of one drawer."""

    drawer: Annotated[int, Field(ge=0, le=15)]
    pocket: Annotated[int, Field(ge=0, le=23)]


class Resolve(Body):
    """Why a discrepancy happened."""

    reason: Code


class Refusal(BaseModel):
    """Why a request was refused, as a code and a sentence in the kiosk's language."""

    code: str
    message: str
    params: dict[str, Any] = {}


class Me(BaseModel):
    """The signed-in user as the screen shows it."""

    user_id: str
    name: str
    roles: list[str]
    patient_id: str | None
    expires_in_s: float


class SyncOut(BaseModel):
    """The link with the central pharmacy, for the offline banner."""

    known: bool
    online: bool
    last_sync_at: str | None = None
    seconds_since_sync: float | None = None  # on the cabinet's clock, not the browser's
    offline_since: str | None = None
    outbox_depth: int | None = None
    last_error: str = ""


class PendingBadgeOut(BaseModel):
    """A badge was read; its owner is to type the PIN."""

    name: str


class Kiosk(BaseModel):
    """What the sign-in screen may show before anyone has signed in."""

    cabinet_id: str
    care_unit: str
    language: Literal["fr", "en"]
    pending_badge: PendingBadgeOut | None
    notice: str | None = None
    sync: SyncOut
    degraded: bool
    degraded_reason: str


class PatientOut(BaseModel):
    """One line of the patient list."""

    patient_id: str
    name: str
    room: str | None
    bed: str | None
    allergies: list[str]
    due: int
    overdue: int


class OrderOut(BaseModel):
    """One order of a patient, dispensable now or with the reason why not."""

    order_id: str
    item_code: str
    item_name: str
    strength: str
    form: str
    dose: int
    kind: str
    controlled: bool
    high_alert: bool
    allergies: list[str]
    warnings: list[str]
    next_allowed_at: str | None
    dispensable: bool
    refusal: str | None
    refusal_text: str | None
    due_at: str | None = None  # the scheduled dose time due now
    overdue_at: list[str] = []  # today's scheduled dose times missed so far


class PatientDetail(BaseModel):
    """A patient and the orders the nurse may act on."""

    patient: PatientOut
    orders: list[OrderOut]


class PocketOut(BaseModel):
    """One pocket as the drawer picture and the restock list show it."""

    drawer: int
    pocket: int
    item_code: str | None
    item_name: str | None
    strength: str
    quantity: int | None
    par: int
    max: int
    below_par: bool


class DrawerLayout(BaseModel):
    """A drawer seen from above: its pockets and what each holds."""

    drawer: int
    pockets: list[PocketOut]


class PackOut(BaseModel):
    """The pack just scanned for a restock."""

    gtin: str
    lot: str
    expiry: str


class TaskOut(BaseModel):
    """The task in progress with the drawer picture."""

    task_id: str
    kind: str
    step: str
    item_code: str | None
    item_name: str | None
    quantity: int
    drawer: int | None
    pocket: int | None
    controlled: bool
    needs_blind_count: bool
    needs_witness: bool
    patient_id: str | None
    order_id: str | None
    layout: DrawerLayout | None
    pack: PackOut | None


class ItemOut(BaseModel):
    """An item found by a search or offered for waste and return."""

    item_code: str
    name: str
    strength: str
    form: str
    controlled: bool


class WitnessOut(BaseModel):
    """The witness who signed in at this screen."""

    user_id: str
    name: str


class WitnessState(BaseModel):
    """Whether a witness's badge was read, and who else may witness (to pick a name instead)."""

    badge_read: bool
    candidates: list[WitnessOut]


class DiscrepancyOut(BaseModel):
    """One discrepancy."""

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


class AlarmOut(BaseModel):
    """One alarm."""

    alarm_id: int
    raised_at: str
    kind: str
    severity: str
    message: str
    cleared_at: str | None


class StatusOut(BaseModel):
    """The cabinet at a glance."""

    ready: bool
    degraded: bool
    degraded_reason: str
    hardware_ok: bool
    open_alarms: int
    open_discrepancies: int
    signed_in: str | None
    sync: SyncOut


class ReviewNote(Body):
    """What the pharmacist noted when reviewing an override."""

    note: Annotated[str, Field(max_length=200)] = ""


class OverrideReviewOut(BaseModel):
    """An override awaiting the pharmacist's review, linked to its order once it arrived."""

    seq: int
    state: str
    patient_id: str | None = None
    item_code: str | None = None
    item_name: str | None = None
    order_id: str | None = None
    reason: str | None = None
    prescriber: str | None = None
    actor: str | None = None


class Done(BaseModel):
    """A command that returns nothing else went through."""

    ok: bool = True
    seq: int | None = None
    quantity: int | None = None
