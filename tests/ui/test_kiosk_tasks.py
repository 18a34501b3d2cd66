"""The other tasks through the local API: an inventory count, a return to the bin, and a
pharmacist resolving the discrepancy a nurse left."""

from __future__ import annotations

import asyncio

import httpx

from tests.ui.conftest import badge_in
from tests.ui.ward import Ward


async def open_close(ward: Ward, drawer: int, takes: dict[int, int] | None = None) -> None:
    """Pull the released drawer, take what is asked, push it shut."""
    await ward.until(lambda: ward.metal.released(drawer))
    ward.metal.open(drawer)
    await ward.until(lambda: ward.cabinet.ticket() is None or ward.cabinet.ticket().step == "open")
    for pocket, n in (takes or {}).items():
        ward.metal.take(drawer, pocket, n)
    await asyncio.sleep(0.3)
    ward.metal.close(drawer)


async def test_a_blind_count_that_matches_commits(ward: Ward, client: httpx.AsyncClient) -> None:
    await badge_in(ward, client, "tech1")
    task = (await client.post("/api/count", json={"drawer": 1, "pocket": 2})).json()
    assert task["kind"] == "count" and task["step"] == "ready"
    assert task["layout"]["drawer"] == 1 and task["pocket"] == 2
    assert (await client.post("/api/task/confirm")).json()["step"] == "released"
    await open_close(ward, 1)
    answer = await client.post("/api/task/count", json={"count": 12})
    assert answer.status_code == 200, answer.text
    await ward.until(lambda: ward.cabinet.ticket() is None)
    kinds = [r[0] for r in ward.store.conn.execute("SELECT kind FROM ledger ORDER BY seq")]
    assert "discrepancy" not in kinds


async def test_a_return_releases_only_the_return_bin(ward: Ward, client: httpx.AsyncClient) -> None:
    await badge_in(ward, client, "nurse1")
    task = (await client.post("/api/return", json={"item_code": "PARA500", "quantity": 1})).json()
    assert task["drawer"] == 2  # the return bin, never a pocket
    assert task["layout"]["pockets"][0]["item_code"] is None
    assert (await client.post("/api/task/confirm")).json()["step"] == "released"
    await ward.until(lambda: ward.metal.released(2))
    assert not ward.metal.released(0) and not ward.metal.released(1)
    await client.post("/api/task/cancel")
    await ward.until(lambda: ward.cabinet.ticket() is None)


async def test_a_pharmacist_resolves_the_discrepancy_a_nurse_left(
    ward: Ward, client: httpx.AsyncClient
) -> None:
    await badge_in(ward, client, "nurse1")
    await client.post("/api/dispense", json={"patient_id": "IPP001", "order_id": "O-PARA"})
    await client.post("/api/task/confirm")
    await open_close(ward, 0, {0: 3})
    await ward.until(lambda: ward.cabinet.ticket() is None)
    opened = (await client.get("/api/discrepancies")).json()
    assert [d["cause"] for d in opened] == ["too_many"]
    nurse_try = await client.post(
        f"/api/discrepancies/{opened[0]['discrepancy_id']}/resolve", json={"reason": "dropped"}
    )
    assert nurse_try.status_code == 403
    await client.post("/api/signout")
    await badge_in(ward, client, "pharm1")
    resolved = await client.post(
        f"/api/discrepancies/{opened[0]['discrepancy_id']}/resolve", json={"reason": "dropped"}
    )
    assert resolved.status_code == 200, resolved.text
    assert (await client.get("/api/discrepancies")).json() == []


async def test_a_pharmacist_reviews_an_override_and_acknowledges_a_forced_drawer(
    ward: Ward, client: httpx.AsyncClient
) -> None:
    await badge_in(ward, client, "nurse1")
    task = await client.post(
        "/api/override",
        json={"patient_id": "IPP002", "item_code": "FURO40", "reason": "emergency",
              "prescriber": "Dr House"},
    )  # fmt: skip
    assert task.status_code == 200, task.text
    await client.post("/api/task/confirm")
    await open_close(ward, 1, {2: 1})
    await ward.until(lambda: ward.cabinet.ticket() is None)
    assert (await client.get("/api/overrides/pending")).status_code == 403  # nurses do not review
    await client.post("/api/signout")
    await badge_in(ward, client, "pharm1")
    pending = (await client.get("/api/overrides/pending")).json()
    assert [(p["item_code"], p["actor"], p["reason"]) for p in pending] == [
        ("FURO40", "nurse1", "emergency")
    ]
    reviewed = await client.post(f"/api/overrides/{pending[0]['seq']}/review", json={"note": "ok"})
    assert reviewed.status_code == 200, reviewed.text
    assert (await client.get("/api/overrides/pending")).json() == []
    acknowledged = await client.post("/api/alarms/acknowledge-tamper")
    assert acknowledged.status_code == 200, acknowledged.text
    kinds = [r[0] for r in ward.store.conn.execute("SELECT kind FROM ledger ORDER BY seq")]
    assert "tamper_acknowledged" in kinds
