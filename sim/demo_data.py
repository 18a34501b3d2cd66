"""Demo data of the simulated central pharmacy: a French ward formulary, a pocket plan, people.

Everything here is fictitious but shaped like the real thing: UCD13 item codes, GTINs of French
packs (`0` + CIP13, with a valid GS1 check digit), unit-dose weights in centigrams, tall-man
lettering for look-alike pairs. Badge codes and PINs are in clear here, for the demo script to
print; the central hashes them (salted scrypt) before they leave it.
"""

from __future__ import annotations

from dataclasses import dataclass

CARE_UNIT = "Cardiologie 3B"
DEMO_CABINET_ID = "CAB-DEMO-01"
# Orders and assignments start here; the demo runs any time after it.
DEMO_START = "2026-01-01T00:00:00.000000+00:00"


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoItem:
    """One formulary item as the central's pharmacy knows it."""

    code: str  # UCD13
    name: str  # tall-man lettering for look-alike names
    strength: str
    form: str
    gtins: tuple[str, ...]  # GTIN-14 of the packs: "0" + CIP13
    unit_weight_cg: int  # one unit (a tablet in its blister cut, an ampoule, a pen), 0.01 g
    tolerance_cg: int  # accepted residual when counting by weight, 0.01 g
    controlled: bool = False  # stupéfiant: blind count on access, witness for waste
    high_alert: bool = False
    refrigerated: bool = False
    lookalike_group: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoPocket:
    """One pocket of the plan: which item, its par and max, and the stock the demo loads."""

    drawer: int
    pocket: int
    item_code: str | None
    par: int = 0
    max: int = 0
    return_bin: bool = False
    demo_quantity: int = 0  # units the demo restocks at start (not sent by the central)
    demo_lot: str = ""
    demo_expiry: str = ""  # ISO date


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoPatient:
    """One patient of the care unit."""

    ipp: str
    name: str
    birth_date: str  # ISO date
    room: str
    bed: str
    allergies: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoOrder:
    """One prescription line, verified by a pharmacist."""

    id: str
    patient_ipp: str
    item_code: str
    dose: int  # item units per administration
    kind: str  # "scheduled" or "prn"
    times: tuple[str, ...] = ()  # "HH:MM", local time of the ward, for scheduled doses
    window_minutes: int = 60  # a scheduled dose may be given this long before or after
    min_interval_minutes: int = 0  # PRN: minimum time between two doses
    daily_max: int | None = None  # units per 24 h
    start_at: str = DEMO_START
    stop_at: str | None = None
    status: str = "active"
    verified_by: str | None = "PHA-001"
    prescriber: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoUser:
    """One member of staff, with the badge and PIN the demo prints."""

    id: str
    name: str
    roles: tuple[str, ...]
    badge: str  # the code printed on the badge, read by the scanner
    pin: str


# One row per item: UCD13, name, strength, form, then pack GTIN, unit weight (cg), tolerance
# (cg) and flags (C controlled, H high-alert, R refrigerated).
# Unit weights: a tablet or capsule in its unit-dose blister cut weighs 0.5-1.5 g, a glass
# ampoule 3-12 g, an insulin pen about 20 g. Tolerances stay well below half a unit so that a
# count by weight is never ambiguous.
_FormularyRow = tuple[str, str, str, str, str, int, int, str]
# fmt: off
_FORMULARY_ROWS: tuple[_FormularyRow, ...] = (
    ("3400893678534", "PARACÉTAMOL", "500 mg", "comprimé",
     "03400936531598", 85, 25, ""),
    ("3400894759515", "PARACÉTAMOL", "1 g", "comprimé",
     "03400937778206", 140, 40, ""),
    ("3400898239853", "IBUPROFÈNE", "400 mg", "comprimé",
     "03400938338201", 95, 30, ""),
    ("3400899823884", "NÉFOPAM", "20 mg/2 mL", "ampoule",
     "03400939882307", 480, 120, ""),
    ("3400897837043", "TRAMADOL", "50 mg", "gélule",
     "03400937758390", 70, 20, ""),
    ("3400896557874", "MORPHINE sulfate LP", "10 mg", "gélule",
     "03400939671277", 75, 20, "C"),
    ("3400899811683", "MORPHINE chlorhydrate", "10 mg/1 mL", "ampoule",
     "03400930304143", 350, 90, "CH"),
    ("3400899136519", "oxyCODONE", "5 mg", "gélule",
     "03400934882401", 70, 20, "C"),
    ("3400893611500", "FENTANYL", "12 µg/h", "dispositif transdermique",
     "03400939891811", 160, 45, "CH"),
    ("3400891543728", "INSULINE asparte", "100 UI/mL", "stylo 3 mL",
     "03400936804999", 2100, 300, "HR"),
    ("3400892644707", "INSULINE glargine", "100 UI/mL", "stylo 3 mL",
     "03400939446622", 2150, 300, "HR"),
    ("3400894898535", "INSULINE humaine rapide", "100 UI/mL", "flacon 10 mL",
     "03400931187059", 1900, 300, "HR"),
    ("3400893585504", "HÉPARINE sodique", "5 000 UI/mL", "flacon 5 mL",
     "03400934918544", 1200, 250, "H"),
    ("3400896701741", "ÉNOXAPARINE", "4 000 UI/0,4 mL", "seringue préremplie",
     "03400933992538", 520, 130, "H"),
    ("3400897018206", "POTASSIUM chlorure", "10 % 10 mL", "ampoule",
     "03400931069270", 1150, 250, "H"),
    ("3400891137514", "hydrOXYzine", "25 mg", "comprimé",
     "03400932614424", 80, 25, ""),
    ("3400893272572", "hydrALAZINE", "25 mg", "comprimé",
     "03400937667012", 85, 25, ""),
    ("3400893930588", "predniSONE", "20 mg", "comprimé",
     "03400934279775", 75, 20, ""),
    ("3400899029217", "prednisoLONE", "20 mg", "comprimé orodispersible",
     "03400931909200", 70, 20, ""),
    ("3400892673578", "DOBUTamine", "250 mg/20 mL", "flacon",
     "03400934083549", 1600, 300, "H"),
    ("3400899358690", "DOPamine", "200 mg/5 mL", "ampoule",
     "03400937989367", 900, 200, "H"),
    ("3400892455082", "cloNIDine", "0,15 mg", "comprimé",
     "03400930754252", 65, 20, ""),
    ("3400897474453", "clonazePAM", "2 mg", "comprimé",
     "03400936479425", 70, 20, ""),
    ("3400892328539", "FUROSÉMIDE", "40 mg", "comprimé",
     "03400934664441", 80, 25, ""),
    ("3400891018615", "AMLODIPINE", "5 mg", "gélule",
     "03400931386643", 70, 20, ""),
    ("3400891055719", "BISOPROLOL", "2,5 mg", "comprimé",
     "03400939137346", 60, 20, ""),
    ("3400899111714", "RAMIPRIL", "5 mg", "comprimé",
     "03400932196302", 65, 20, ""),
    ("3400892739137", "OMÉPRAZOLE", "20 mg", "gélule",
     "03400932259489", 75, 20, ""),
    ("3400892745718", "MÉTOCLOPRAMIDE", "10 mg", "comprimé",
     "03400939147857", 70, 20, ""),
    ("3400894288879", "ONDANSÉTRON", "4 mg", "comprimé orodispersible",
     "03400933033583", 60, 20, ""),
    ("3400896654160", "AMOXICILLINE", "1 g", "comprimé",
     "03400932085507", 150, 40, ""),
    ("3400898107565", "NALOXONE", "0,4 mg/1 mL", "ampoule",
     "03400939186771", 330, 90, "H"),
    ("3400893147269", "ADRÉNALINE", "1 mg/1 mL", "ampoule",
     "03400936561250", 340, 90, "H"),
    ("3400898241900", "GLUCOSE", "30 % 10 mL", "ampoule",
     "03400931904939", 1150, 250, ""),
)
# fmt: on

# Items that look or sound alike (tall-man lettering marks the difference in their names).
LOOKALIKE_GROUPS: dict[str, tuple[str, ...]] = {
    "morphine": ("3400896557874", "3400899811683"),
    "oxycodone": ("3400899136519",),
    "insuline": ("3400891543728", "3400892644707", "3400894898535"),
    "hydroxyzine-hydralazine": ("3400891137514", "3400893272572"),
    "prednisone-prednisolone": ("3400893930588", "3400899029217"),
    "dobutamine-dopamine": ("3400892673578", "3400899358690"),
    "clonidine-clonazepam": ("3400892455082", "3400897474453"),
}
_GROUP_OF = {code: group for group, codes in LOOKALIKE_GROUPS.items() for code in codes}


def _item(row: _FormularyRow) -> DemoItem:
    """A formulary item from its table row."""
    code, name, strength, form, gtin, weight, tolerance, flags = row
    return DemoItem(
        code=code,
        name=name,
        strength=strength,
        form=form,
        gtins=(gtin,),
        unit_weight_cg=weight,
        tolerance_cg=tolerance,
        controlled="C" in flags,
        high_alert="H" in flags,
        refrigerated="R" in flags,
        lookalike_group=_GROUP_OF.get(code),
    )


FORMULARY: tuple[DemoItem, ...] = tuple(_item(row) for row in _FORMULARY_ROWS)

ITEMS_BY_CODE: dict[str, DemoItem] = {item.code: item for item in FORMULARY}

# Drawer by drawer: look-alike partners are kept in different drawers, the insulins share the
# last drawer, the emergency items sit together in drawer 4. Pocket 6.0 is the return bin.
_PLAN: tuple[tuple[int, int, str | None, int, int], ...] = (
    # drawer 0: analgesics
    (0, 0, "3400893678534", 10, 30),
    (0, 1, "3400894759515", 10, 30),
    (0, 2, "3400898239853", 8, 20),
    (0, 3, "3400899823884", 4, 10),
    (0, 4, "3400897837043", 6, 20),
    (0, 5, "3400896557874", 4, 10),
    (0, 6, "3400899811683", 4, 10),
    (0, 7, "3400899136519", 4, 10),
    # drawer 1: cardiology
    (1, 0, "3400892328539", 8, 20),
    (1, 1, "3400891018615", 6, 20),
    (1, 2, "3400891055719", 6, 20),
    (1, 3, "3400899111714", 6, 20),
    (1, 4, "3400893272572", 4, 10),
    (1, 5, "3400892455082", 4, 10),
    (1, 6, "3400893930588", 4, 10),
    (1, 7, None, 0, 0),
    # drawer 2: anticoagulants, electrolytes, transdermal
    (2, 0, "3400893585504", 2, 6),
    (2, 1, "3400896701741", 6, 14),
    (2, 2, "3400897018206", 2, 6),
    (2, 3, "3400893611500", 2, 6),
    (2, 4, None, 0, 0),
    (2, 5, None, 0, 0),
    (2, 6, None, 0, 0),
    (2, 7, None, 0, 0),
    # drawer 3: digestive, anti-infectives, look-alike partners of drawer 1
    (3, 0, "3400892739137", 6, 20),
    (3, 1, "3400892745718", 6, 20),
    (3, 2, "3400894288879", 6, 20),
    (3, 3, "3400896654160", 6, 20),
    (3, 4, "3400891137514", 4, 10),
    (3, 5, "3400897474453", 4, 10),
    (3, 6, "3400899029217", 4, 10),
    (3, 7, None, 0, 0),
    # drawer 4: emergency and inotropes
    (4, 0, "3400898107565", 2, 5),
    (4, 1, "3400893147269", 2, 5),
    (4, 2, "3400898241900", 2, 5),
    (4, 3, "3400892673578", 2, 4),
    (4, 4, "3400899358690", 2, 4),
    (4, 5, None, 0, 0),
    (4, 6, None, 0, 0),
    (4, 7, None, 0, 0),
    # drawer 5: refrigerated insulins
    (5, 0, "3400891543728", 2, 5),
    (5, 1, "3400892644707", 2, 5),
    (5, 2, "3400894898535", 1, 3),
    (5, 3, None, 0, 0),
    (5, 4, None, 0, 0),
    (5, 5, None, 0, 0),
    (5, 6, None, 0, 0),
    (5, 7, None, 0, 0),
)


def _pocket(drawer: int, pocket: int, code: str | None, par: int, maximum: int) -> DemoPocket:
    """A planned pocket, loaded for the demo to about two thirds of its maximum."""
    if code is None:
        return DemoPocket(drawer=drawer, pocket=pocket, item_code=None)
    return DemoPocket(
        drawer=drawer,
        pocket=pocket,
        item_code=code,
        par=par,
        max=maximum,
        demo_quantity=max(par, (2 * maximum) // 3),
        demo_lot=f"L{drawer}{pocket}{code[-4:]}",
        demo_expiry="2028-06-30",
    )


POCKET_PLAN: tuple[DemoPocket, ...] = (
    *(_pocket(*row) for row in _PLAN),
    DemoPocket(drawer=6, pocket=0, item_code=None, return_bin=True),
)

PATIENTS: tuple[DemoPatient, ...] = (
    DemoPatient(
        ipp="8001234567",
        name="Jeanne MARTIN",
        birth_date="1941-03-12",
        room="312",
        bed="A",
        allergies=("pénicillines",),
    ),
    DemoPatient(
        ipp="8001234568",
        name="Lucien BERNARD",
        birth_date="1956-11-02",
        room="314",
        bed="B",
        allergies=(),
    ),
    DemoPatient(
        ipp="8001234569",
        name="Fatima HADDAD",
        birth_date="1978-07-25",
        room="316",
        bed="A",
        allergies=("iode", "AINS"),
    ),
)

_MARTIN, _BERNARD, _HADDAD = (p.ipp for p in PATIENTS)

# One row per order: id, patient, item, dose (units), kind, times ("HH:MM" separated by
# spaces), PRN minimum interval (minutes), daily maximum (units). All verified by PHA-001.
_OrderRow = tuple[str, str, str, int, str, str, int, int | None]
# fmt: off
_ORDER_ROWS: tuple[_OrderRow, ...] = (
    ("ORD-0001", _MARTIN, "3400892328539", 1, "scheduled", "08:00", 0, None),
    ("ORD-0002", _MARTIN, "3400891055719", 1, "scheduled", "08:00 20:00", 0, None),
    ("ORD-0003", _MARTIN, "3400894759515", 1, "prn", "", 360, 4),
    ("ORD-0004", _MARTIN, "3400896557874", 1, "scheduled", "08:00 20:00", 0, None),
    ("ORD-0005", _MARTIN, "3400896701741", 1, "scheduled", "18:00", 0, None),
    ("ORD-0006", _BERNARD, "3400892644707", 1, "scheduled", "22:00", 0, None),
    ("ORD-0007", _BERNARD, "3400891018615", 1, "scheduled", "08:00", 0, None),
    ("ORD-0008", _BERNARD, "3400891137514", 1, "prn", "", 480, 2),
    ("ORD-0009", _BERNARD, "3400892739137", 1, "scheduled", "08:00", 0, None),
    ("ORD-0010", _HADDAD, "3400899136519", 1, "prn", "", 240, 4),
    ("ORD-0011", _HADDAD, "3400893678534", 2, "scheduled", "06:00 12:00 18:00 00:00", 0, None),
    ("ORD-0012", _HADDAD, "3400894288879", 1, "prn", "", 480, 3),
    ("ORD-0013", _HADDAD, "3400893930588", 1, "scheduled", "08:00", 0, None),
)
# fmt: on
_PRESCRIBER = {
    _MARTIN: "Dr Claire LEFÈVRE",
    _BERNARD: "Dr Paul MOREAU",
    _HADDAD: "Dr Sophie GIRARD",
}

ORDERS: tuple[DemoOrder, ...] = tuple(
    DemoOrder(
        id=oid,
        patient_ipp=ipp,
        item_code=item,
        dose=dose,
        kind=kind,
        times=tuple(times.split()),
        min_interval_minutes=interval,
        daily_max=daily_max,
        prescriber=_PRESCRIBER[ipp],
    )
    for oid, ipp, item, dose, kind, times, interval, daily_max in _ORDER_ROWS
)

USERS: tuple[DemoUser, ...] = (
    DemoUser(id="IDE-001", name="Marie DUBOIS", roles=("nurse",), badge="BADGE-1001", pin="1234"),
    DemoUser(id="IDE-002", name="Karim BENALI", roles=("nurse",), badge="BADGE-1002", pin="2345"),
    DemoUser(
        id="PHA-001",
        name="Dr Hélène ROUSSEAU",
        roles=("pharmacist",),
        badge="BADGE-2001",
        pin="3456",
    ),
    DemoUser(
        id="TEC-001", name="Julien PETIT", roles=("technician",), badge="BADGE-3001", pin="4567"
    ),
    DemoUser(
        id="AUD-001", name="Nadia LAMBERT", roles=("auditor",), badge="BADGE-4001", pin="5678"
    ),
    DemoUser(id="ADM-001", name="Thomas GARNIER", roles=("admin",), badge="BADGE-5001", pin="6789"),
)

# Items a nurse may take without an order in an emergency (the unit's override list).
OVERRIDE_LIST: tuple[str, ...] = (
    "3400898107565",  # NALOXONE
    "3400893147269",  # ADRÉNALINE
    "3400898241900",  # GLUCOSE 30 %
    "3400894759515",  # PARACÉTAMOL 1 g
    "3400899811683",  # MORPHINE chlorhydrate (controlled: count and review apply)
)


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of a GTIN body (every digit but the last)."""
    total = sum(int(ch) * (3 if i % 2 == 0 else 1) for i, ch in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)
