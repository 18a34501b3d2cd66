"""The FHIR export: a Bundle of MedicationDispense that validates in R5 and R4B."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.R4B.bundle import Bundle as BundleR4B

from cabinet.reports import Params, ReportError
from cabinet.reports.cli import main
from cabinet.reports.fhir import (
    ALLOWED_STATUS,
    GTIN_SYSTEM,
    UCD_SYSTEM,
    build_bundle,
    check_statuses,
)
from cabinet.store import open_read_only
from tests.reports.history import AS_OF, MORPH, History


@pytest.fixture
def conn(ward: History) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the ward's store."""
    c = open_read_only(ward.path)
    yield c
    c.close()


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The MedicationDispense resources of a bundle."""
    return [entry["resource"] for entry in bundle["entry"]]


@pytest.mark.parametrize("version", ["R5", "R4B"])
def test_bundle_validates_in_both_versions(conn: sqlite3.Connection, version: str) -> None:
    """13 dispenses, 2 wastes and 1 return; each validates and has an allowed status."""
    bundle = build_bundle(conn, Params(now=AS_OF), version=version, cabinet_id="CAB-TEST-01")
    model = (Bundle if version == "R5" else BundleR4B).model_validate(bundle)
    assert model.entry is not None and len(model.entry) == 16
    kinds = [r["type"]["coding"][0]["code"] for r in resources(bundle)]
    assert (kinds.count("dispense"), kinds.count("waste"), kinds.count("return")) == (13, 2, 1)
    assert all(r["status"] in ALLOWED_STATUS[version] for r in resources(bundle))


def test_dispense_carries_patient_order_codes_performer_witness(conn: sqlite3.Connection) -> None:
    """The first morphine dispense and the witnessed waste, field by field (R5)."""
    bundle = build_bundle(conn, Params(now=AS_OF), version="R5", cabinet_id="CAB-TEST-01")
    first = resources(bundle)[0]
    codes = {c["system"]: c["code"] for c in first["medication"]["concept"]["coding"]}
    assert codes == {UCD_SYSTEM: MORPH, GTIN_SYSTEM: "03400930000011"}
    assert first["subject"]["identifier"]["value"] == "P1"
    assert first["authorizingPrescription"][0]["identifier"]["value"] == "O1"
    assert first["quantity"]["value"] == 1
    assert first["performer"][0]["actor"]["identifier"]["value"] == "n1"
    assert first["whenHandedOver"].startswith("2026-11-03T08:01")
    waste = next(r for r in resources(bundle) if r["type"]["text"] == "waste")
    roles = {
        p.get("function", {}).get("text", "actor"): p["actor"]["identifier"]["value"]
        for p in waste["performer"]
    }
    assert roles == {"actor": "n1", "witness": "n2"}
    r4 = build_bundle(conn, Params(now=AS_OF), version="R4B", cabinet_id="CAB-TEST-01")
    assert "medicationCodeableConcept" in resources(r4)[0]


def test_statuses_outside_the_value_set_are_refused() -> None:
    """fhir.resources accepts any code: our own check refuses those of the other version."""

    def one(status: str) -> dict[str, Any]:
        """A one-resource bundle with that status."""
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": {"resourceType": "MedicationDispense", "id": "x", "status": status}}
            ],
        }

    check_statuses(one("completed"), "R5")
    with pytest.raises(ReportError, match="not one of the R5 codes"):
        check_statuses(one("stopped"), "R5")
    with pytest.raises(ReportError, match="not one of the R4B codes"):
        check_statuses(one("unfulfilled"), "R4B")
    with pytest.raises(ReportError):
        check_statuses(one("done"), "R5")
    # The library itself lets the bad code through: the reason for the check above.
    Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                    "resource": {
                        "resourceType": "MedicationDispense",
                        "status": "done",
                        "subject": {"display": "x"},
                        "medication": {"concept": {"text": "x"}},
                    },
                }
            ],
        }
    )


def test_command_line_export_with_period(ward: History, tmp_path: Path) -> None:
    """`cabinet export fhir --from --to --version R4B -o FILE` writes one day's events."""
    out = tmp_path / "dispenses.json"
    assert (
        main(
            [
                "export",
                "fhir",
                "--db",
                str(ward.path),
                "--from",
                "2026-11-04",
                "--to",
                "2026-11-04",
                "--version",
                "R4B",
                "--cabinet-id",
                "CAB-TEST-01",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    bundle = json.loads(out.read_text(encoding="utf-8"))
    BundleR4B.model_validate(bundle)
    # Two override dispenses, two wastes (one of a taken dose: 1 unit, no stock change), a return.
    assert len(bundle["entry"]) == 5
    assert [r["resource"]["quantity"]["value"] for r in bundle["entry"]] == [2, 1, 1, 1, 1]
    with pytest.raises(SystemExit):
        main(["export", "fhir", "--db", str(ward.path), "--version", "R3"])
    with pytest.raises(ReportError, match="R5 or R4B"):
        conn = open_read_only(ward.path)
        try:
            build_bundle(conn, Params(now=AS_OF), version="R3")
        finally:
            conn.close()
