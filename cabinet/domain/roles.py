"""Roles and what each may do at the cabinet."""

from __future__ import annotations

import enum

from cabinet.domain.refusals import RefusalCode, Refused


class Role(enum.Enum):
    """The roles a user may hold."""

    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Action(enum.Enum):
    """Things a signed-in user asks the cabinet to do."""

    DISPENSE = "dispense"
    OVERRIDE = "override"
    WASTE = "waste"
    RETURN = "return"
    RESTOCK = "restock"
    COUNT = "count"
    RESOLVE = "resolve"
    REVIEW_OVERRIDE = "review_override"
    WITNESS = "witness"
    VIEW_REPORTS = "view_reports"
    ACKNOWLEDGE_TAMPER = "acknowledge_tamper"


_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.DISPENSE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Action.OVERRIDE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Action.WASTE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Action.RETURN: frozenset({Role.NURSE, Role.PHARMACIST}),
    Action.RESTOCK: frozenset({Role.TECHNICIAN, Role.PHARMACIST}),
    Action.COUNT: frozenset({Role.NURSE, Role.PHARMACIST, Role.TECHNICIAN}),
    Action.RESOLVE: frozenset({Role.PHARMACIST}),
    Action.REVIEW_OVERRIDE: frozenset({Role.PHARMACIST}),
    Action.WITNESS: frozenset({Role.NURSE, Role.PHARMACIST}),
    Action.VIEW_REPORTS: frozenset({Role.AUDITOR, Role.PHARMACIST, Role.ADMIN}),
    Action.ACKNOWLEDGE_TAMPER: frozenset({Role.PHARMACIST, Role.ADMIN}),
}


def parse_roles(text: str) -> frozenset[Role]:
    """The roles of a comma-separated list; unknown names are ignored (never widen rights)."""
    known = {r.value: r for r in Role}
    return frozenset(known[n.strip()] for n in text.split(",") if n.strip() in known)


def may(roles: frozenset[Role], action: Action) -> bool:
    """True when one of the roles allows the action."""
    return bool(roles & _ALLOWED[action])


def require(roles: frozenset[Role], action: Action) -> None:
    """Raise Refused(NOT_AUTHORISED) unless one of the roles allows the action."""
    if not may(roles, action):
        raise Refused(RefusalCode.NOT_AUTHORISED, action=action.value)
