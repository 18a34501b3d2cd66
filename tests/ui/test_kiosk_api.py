"""The local API: sign-in by badge and PIN, sessions that die with the workflow session,
role checks on every route, refusals in words, and a dispense driven through HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import badge_in
from tests.ui.ward import PINS, Ward

PUBLIC = {("GET", "/api/kiosk"), ("POST", "/api/signin"), ("POST", "/api/signin/cancel")}


async def test_nothing_but_sign_in_is_reachable_without_a_session(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    checked = 0
    for path, operations in schema["paths"].items():
        for method in operations:
            if (method.upper(), path) in PUBLIC:
                continue
            url = path.replace("{patient_id}", "IPP001").replace("{discrepancy_id}", "1")
            response = await client.request(method.upper(), url, json={})
            assert response.status_code == 401, (method, path, response.text)
            checked += 1
    assert checked >= 20
    page = await client.get("/")
    assert page.status_code == 200 and "core.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no asset from elsewhere


async def test_badge_and_pin_sign_in_then_sign_out(ward: Ward, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/kiosk")).json()["pending_badge"] is None
    ward.metal.scanner.badge("B-NURSE1")
    await ward.until(lambda: ward.runtime.scans.pending_badge is not None)
    kiosk = (await client.get("/api/kiosk")).json()
    assert kiosk["pending_badge"] == {"name": "Alice Martin"}
    signed = await client.post("/api/signin", json={"pin": "1111"})
    assert signed.status_code == 200, signed.text
    assert signed.json()["roles"] == ["nurse"]
    assert (await client.get("/api/me")).json()["user_id"] == "nurse1"
    assert (await client.post("/api/signout")).status_code == 200
    assert (await client.get("/api/me")).status_code == 401


async def test_wrong_pin_is_refused_in_french_and_five_lock_the_account(
    ward: Ward, client: httpx.AsyncClient
) -> None:
    answers = []
    for _ in range(5):
        ward.metal.scanner.badge("B-NURSE2")
        await ward.until(lambda: ward.runtime.scans.pending_badge is not None)
        answers.append((await client.post("/api/signin", json={"pin": "9999"})).json()["detail"])
    assert answers[0]["code"] == "wrong_pin"
    assert "PIN incorrect" in answers[0]["message"]
    locked = await client.post("/api/signin", json={"pin": PINS["nurse2"], "user_id": "nurse2"})
    assert locked.status_code == 423, locked.text
    assert locked.json()["detail"]["code"] == "locked_out"
    assert (await client.get("/api/me")).status_code == 401


async def test_each_route_checks_the_roles(ward: Ward, client: httpx.AsyncClient) -> None:
    assert (await badge_in(ward, client, "nurse1")).status_code == 200
    refused = await client.post("/api/restock", json={"drawer": 0, "pocket": 0})
    assert refused.status_code == 403
    assert (await client.get("/api/patients")).status_code == 200
    await client.post("/api/signout")
    assert (await badge_in(ward, client, "tech1")).status_code == 200
    assert (await client.get("/api/patients")).status_code == 403
    assert (await client.get("/api/pockets")).status_code == 200


async def test_the_cookie_dies_with_the_workflow_session(
    ward: Ward, client: httpx.AsyncClient
) -> None:
    assert (await badge_in(ward, client, "nurse1")).status_code == 200
    old = client.cookies.get("cabinet_session")
    # The workflow signs the nurse out on its own (inactivity): the cookie is worthless now.
    await ward.cabinet.sign_out()
    await asyncio.sleep(0.05)
    assert (await client.get("/api/patients")).status_code == 401
    # Another sign-in issues a new token; the old one stays dead.
    assert (await badge_in(ward, client, "nurse1")).status_code == 200
    stale = httpx.ASGITransport(app=ward.app)
    async with httpx.AsyncClient(
        transport=stale, base_url="http://127.0.0.1", cookies={"cabinet_session": old or ""}
    ) as other:
        assert (await other.get("/api/me")).status_code == 401


async def test_a_refusal_comes_back_in_words_and_changes_nothing(
    ward: Ward, client: httpx.AsyncClient
) -> None:
    await badge_in(ward, client, "nurse1")
    detail = (await client.post("/api/patients/IPP001/select")).json()
    unverified = next(o for o in detail["orders"] if o["order_id"] == "O-IBU")
    assert unverified["dispensable"] is False and "pharmacien" in unverified["refusal_text"]
    assert unverified["due_at"] is None and unverified["overdue_at"] == []
    # The scheduled dose due now comes first, with its time.
    first = detail["orders"][0]
    assert (first["order_id"], first["due_at"]) == ("O-PARA", "2026-11-30T08:00:00+00:00")
    response = await client.post(
        "/api/dispense", json={"patient_id": "IPP001", "order_id": "O-IBU"}
    )
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "not_verified"
    assert (await client.get("/api/task")).json() is None


async def test_a_scheduled_dose_dispensed_through_the_api_commits(
    ward: Ward, client: httpx.AsyncClient
) -> None:
    await badge_in(ward, client, "nurse1")
    patients = (await client.get("/api/patients")).json()
    assert next(p for p in patients if p["patient_id"] == "IPP001")["due"] >= 1
    task = (
        await client.post("/api/dispense", json={"patient_id": "IPP001", "order_id": "O-PARA"})
    ).json()
    assert (task["drawer"], task["pocket"], task["quantity"], task["step"]) == (0, 0, 2, "ready")
    assert task["layout"]["pockets"][0]["item_name"] == "PARAcetamol 500 mg"
    released = (await client.post("/api/task/confirm")).json()
    assert released["step"] == "released"
    await ward.until(lambda: ward.metal.released(0))
    ward.metal.open(0)
    await ward.until(
        lambda: ward.cabinet.ticket() is not None and ward.cabinet.ticket().step == "open"
    )
    ward.metal.take(0, 0, 2)
    await asyncio.sleep(0.3)
    ward.metal.close(0)
    await ward.until(lambda: ward.cabinet.ticket() is None)
    assert ward.stock(0, 0) == 18
    assert (await client.get("/api/task")).json() is None


# The daemon's own wiring: the workflows read the scanner and hold the witness's badge; or a
# cabinet whose workflows do not read the scanner, where the kiosk routes the reads itself.
@pytest.mark.parametrize("ui_reads_scanner", [False, True], ids=["workflows", "kiosk_router"])
async def test_a_witness_badge_read_at_the_reader_signs_the_witness_in(
    tmp_path: Path, ui_reads_scanner: bool
) -> None:
    ward = Ward(tmp_path, ui_reads_scanner=ui_reads_scanner)
    await ward.start(serve=False)
    try:
        transport = httpx.ASGITransport(app=ward.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await badge_in(ward, client, "nurse1")).status_code == 200
            task = await client.post("/api/waste", json={"item_code": "MORPH10", "quantity": 1})
            assert task.json()["needs_witness"] is True
            assert (await client.get("/api/witness")).json()["badge_read"] is False
            ward.metal.scanner.badge("B-NURSE1")  # the actor cannot witness
            await ward.until(lambda: ward.runtime.scans.witness_badge is not None)
            same = await client.post("/api/witness", json={"pin": PINS["nurse1"]})
            assert same.json()["detail"]["code"] == "witness_same_as_actor"
            # That read is forgotten: the next one counts.
            assert (await client.get("/api/witness")).json()["badge_read"] is False
            ward.metal.scanner.badge("B-NURSE2")
            await ward.until(lambda: ward.runtime.scans.witness_badge is not None)
            assert (await client.get("/api/witness")).json()["badge_read"] is True
            wrong = await client.post("/api/witness", json={"pin": "0000"})
            assert wrong.json()["detail"]["code"] == "wrong_pin"  # the read is kept: retype
            signed = await client.post("/api/witness", json={"pin": PINS["nurse2"]})
            assert signed.json() == {"user_id": "nurse2", "name": "Bruno Petit"}
            done = await client.post("/api/task/confirm")
            assert done.status_code == 200, done.text
        row = ward.store.conn.execute(
            "SELECT actor, witness FROM ledger WHERE kind = 'waste'"
        ).fetchone()
        assert tuple(row) == ("nurse1", "nurse2")
    finally:
        await ward.stop()
