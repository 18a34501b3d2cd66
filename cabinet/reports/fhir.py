"""FHIR export: dispense, return and waste events as a Bundle of MedicationDispense (R5, R4B)."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import uuid
from typing import Any

from cabinet.reports import kinds
from cabinet.reports.model import Params, ReportError, snapshot

UCD_SYSTEM = "http://data.esante.gouv.fr/ansm/medicament/UCD"
GTIN_SYSTEM = "https://www.gs1.org/gtin"
UCUM = "http://unitsofmeasure.org"

# MedicationDispense.status is bound (required) to these value sets; fhir.resources does not
# check them, so every exported resource is checked here.
ALLOWED_STATUS: dict[str, frozenset[str]] = {
    "R5": frozenset(
        {
            "preparation",
            "in-progress",
            "cancelled",
            "on-hold",
            "completed",
            "entered-in-error",
            "unfulfilled",
            "declined",
            "unknown",
        }
    ),
    "R4B": frozenset(
        {
            "preparation",
            "in-progress",
            "cancelled",
            "on-hold",
            "completed",
            "entered-in-error",
            "stopped",
            "declined",
            "unknown",
        }
    ),
}
BUNDLE_TYPES = frozenset({"collection"})
EXPORTED_KINDS = (kinds.DISPENSE, kinds.RETURN, kinds.WASTE)
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _namespace(cabinet_id: str) -> tuple[str, uuid.UUID]:
    """The identifier systems of this cabinet and the UUID namespace of its resources."""
    return f"urn:cabinet:{cabinet_id}", uuid.uuid5(uuid.NAMESPACE_URL, f"urn:cabinet:{cabinet_id}")


def _quantity(kind: str, quantity: int, payload: dict[str, Any]) -> int:
    """Units handed over, brought back or wasted (a waste of an already taken dose has delta 0)."""
    if quantity != 0:
        return abs(quantity)
    for key in ("wasted", "quantity"):
        value = payload.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return 0


def _dispense(row: tuple[Any, ...], gtins: list[str], version: str, base: str) -> dict[str, Any]:
    """One ledger event as a MedicationDispense resource (plain data)."""
    seq, at, kind, actor, witness, patient, order, code, name, form, quantity, text = row
    payload = kinds.payload_of(text)
    coding = [{"system": UCD_SYSTEM, "code": code, "display": name}]
    coding += [{"system": GTIN_SYSTEM, "code": g} for g in gtins]
    concept = {"coding": coding, "text": name}
    performers: list[dict[str, Any]] = [
        {
            "actor": {
                "type": "Practitioner",
                "identifier": {"system": f"{base}:user", "value": actor},
            }
        }
    ]
    if witness:
        performers.append(
            {
                "function": {
                    "coding": [{"system": f"{base}:role", "code": "witness"}],
                    "text": "witness",
                },
                "actor": {
                    "type": "Practitioner",
                    "identifier": {"system": f"{base}:user", "value": witness},
                },
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": f"ledger-{seq}",
        "identifier": [{"system": f"{base}:ledger", "value": str(seq)}],
        "status": "completed",
        "type": {"coding": [{"system": f"{base}:movement", "code": kind}], "text": kind},
        "quantity": {
            "value": _quantity(kind, quantity, payload),
            "unit": form or "unit",
            "system": UCUM,
            "code": "1",
        },
        "performer": performers,
        "whenHandedOver": at,
    }
    subject = (
        {"type": "Patient", "identifier": {"system": f"{base}:patient", "value": patient}}
        if patient
        else {"display": "no patient recorded"}
    )
    if patient or version == "R5":  # R5 requires a subject; R4B does not
        resource["subject"] = subject
    if order:
        resource["authorizingPrescription"] = [
            {"type": "MedicationRequest", "identifier": {"system": f"{base}:order", "value": order}}
        ]
    if version == "R5":
        resource["medication"] = {"concept": concept}
        resource["recorded"] = at
    else:
        resource["medicationCodeableConcept"] = concept
    reason = payload.get(kinds.REASON)
    if isinstance(reason, str) and reason:
        resource["note"] = [{"text": reason}]
    return resource


def check_statuses(bundle: dict[str, Any], version: str) -> None:
    """Refuse a bundle whose type or any resource's status is not an allowed code."""
    if bundle.get("type") not in BUNDLE_TYPES:
        raise ReportError(f"bundle type {bundle.get('type')!r} is not allowed here")
    allowed = ALLOWED_STATUS[version]
    for entry in bundle.get("entry", []):
        status = entry["resource"].get("status")
        if status not in allowed:
            raise ReportError(
                f"MedicationDispense {entry['resource'].get('id')} has status {status!r}, "
                f"not one of the {version} codes: {', '.join(sorted(allowed))}"
            )


def validate(bundle: dict[str, Any], version: str) -> None:
    """Validate with fhir.resources for the version, and the status codes ourselves."""
    check_statuses(bundle, version)
    try:
        if version == "R5":
            from fhir.resources.bundle import Bundle

            Bundle.model_validate(bundle)
        else:
            from fhir.resources.R4B.bundle import Bundle as BundleR4B

            BundleR4B.model_validate(bundle)
    except ValueError as exc:
        raise ReportError(f"the FHIR {version} bundle does not validate: {exc}") from exc


def build_bundle(
    conn: sqlite3.Connection, params: Params, *, version: str = "R5", cabinet_id: str = "cabinet"
) -> dict[str, Any]:
    """The period's dispense, return and waste events as a validated FHIR Bundle."""
    if version not in ALLOWED_STATUS:
        raise ReportError(f"FHIR version {version!r}: use R5 or R4B")
    if not _ID.fullmatch(cabinet_id):
        raise ReportError(f"cabinet id {cabinet_id!r} cannot name FHIR identifiers")
    low, high = params.bounds()
    base, namespace = _namespace(cabinet_id)
    with snapshot(conn):
        rows = conn.execute(
            "SELECT l.seq, l.at, l.kind, l.actor, l.witness, l.patient_id, l.order_id,"
            " l.item_code, COALESCE(i.name, l.item_code), COALESCE(i.form, ''), l.quantity,"
            " l.payload FROM ledger l LEFT JOIN items i ON i.code = l.item_code"
            f" WHERE l.kind IN ({', '.join('?' * len(EXPORTED_KINDS))}) AND l.at >= ? AND l.at < ?"
            " ORDER BY l.seq",
            (*EXPORTED_KINDS, low, high),
        ).fetchall()
        gtins: dict[str, list[str]] = {}
        for gtin, code in conn.execute("SELECT gtin, item_code FROM item_gtins ORDER BY gtin"):
            gtins.setdefault(str(code), []).append(str(gtin))
    entries = []
    for row in rows:
        resource = _dispense(tuple(row), gtins.get(str(row[7]), []), version, base)
        entries.append(
            {"fullUrl": f"urn:uuid:{uuid.uuid5(namespace, str(row[0]))}", "resource": resource}
        )
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "identifier": {
            "system": f"{base}:export",
            "value": f"{params.date_from or 'start'}..{params.date_to or 'now'}",
        },
        "type": "collection",
        "timestamp": params.now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "entry": entries,
    }
    validate(bundle, version)
    return bundle


def export_json(
    conn: sqlite3.Connection, params: Params, *, version: str = "R5", cabinet_id: str = "cabinet"
) -> str:
    """The validated bundle as JSON text."""
    bundle = build_bundle(conn, params, version=version, cabinet_id=cabinet_id)
    return json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
