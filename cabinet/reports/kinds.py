"""The ledger event kinds and payload keys the reports read, named once."""

from __future__ import annotations

import json
from typing import Any

# Stock movements (written by Store.move): the quantity column is the signed change.
DISPENSE = "dispense"
RESTOCK = "restock"
RETURN = "return"
WASTE = "waste"
COUNT_CORRECTION = "count_correction"
MOVEMENT_KINDS = (DISPENSE, RESTOCK, RETURN, WASTE, COUNT_CORRECTION)

# Facts without a stock change (written by Store.record).
COUNT = "count"  # a blind count: payload expected, counted
# An override is a dispense whose payload says override: true, with reason and prescriber.
OVERRIDE_LINKED = "override_linked"  # payload override_seq; order_id names the order
OVERRIDE_REVIEWED = "override_reviewed"  # payload override_seq; actor is the pharmacist
DISCREPANCY = "discrepancy"  # payload changes: [{pocket, item, expected, counted, cause}]
DISCREPANCY_RESOLVED = "discrepancy_resolved"
REGISTER_VALIDATED = "register_validated"  # payload through, items

# Payload keys.
BALANCE = "balance"  # the pocket's stock after a movement
EXPECTED = "expected"
COUNTED = "counted"
BLIND_COUNT = "blind_count"  # on a controlled dispense: what the nurse counted before the take
WASTED = "wasted"  # on a waste of an already dispensed dose (quantity 0)
REASON = "reason"
PRESCRIBER = "prescriber"
OVERRIDE_FLAG = "override"  # on a dispense made under an override
OVERRIDE_SEQ = "override_seq"
# The partial index ledger_override_dispenses is defined with exactly this test.
OVERRIDE_TEST = "kind = 'dispense' AND payload LIKE '%\"override\":true%'"
UNIT = "unit"  # care unit, when the event names one


def payload_of(text: str | None) -> dict[str, Any]:
    """The payload of a ledger row as a dict (an unreadable payload reads as empty)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
