"""Sessions that expire with the workflow's inactivity sign-out, the live event stream, and a
kiosk configured in English."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from cabinet.ui.i18n import catalog
from tests.ui.conftest import badge_in
from tests.ui.ward import Ward


def test_both_catalogs_have_every_key() -> None:
    assert set(catalog("fr")) == set(catalog("en"))
    assert catalog("fr")["signin.scan"] != catalog("en")["signin.scan"]


async def test_the_session_expires_with_the_workflow_inactivity(tmp_path: Path) -> None:
    ward = Ward(tmp_path, inactivity_s=1.0)
    await ward.start(serve=False)
    try:
        transport = httpx.ASGITransport(app=ward.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await badge_in(ward, client, "nurse1")).status_code == 200
            assert (await client.get("/api/patients")).status_code == 200
            await ward.until(lambda: ward.cabinet.core.session is None, within=5)
            answer = await client.get("/api/patients")
            assert answer.status_code == 401
            assert answer.json()["detail"]["code"] == "session_ended"
    finally:
        await ward.stop()


async def test_an_english_kiosk_speaks_english(tmp_path: Path) -> None:
    ward = Ward(tmp_path, language="en")
    await ward.start(serve=False)
    try:
        transport = httpx.ASGITransport(app=ward.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await client.get("/api/kiosk")).json()["language"] == "en"
            await badge_in(ward, client, "nurse1")
            await client.post("/api/patients/IPP001/select")
            refused = await client.post(
                "/api/dispense", json={"patient_id": "IPP001", "order_id": "O-IBU"}
            )
            assert "not been verified" in refused.json()["detail"]["message"]
            restock = await client.post("/api/restock", json={"drawer": 0, "pocket": 0})
            assert restock.json()["detail"]["message"] == "Your role does not allow this action."
    finally:
        await ward.stop()


async def test_the_live_stream_carries_drawer_events_and_ends_at_sign_out(tmp_path: Path) -> None:
    ward = Ward(tmp_path)
    await ward.start(serve=True)
    try:
        async with httpx.AsyncClient(base_url=ward.server.url, timeout=10) as client:
            await badge_in(ward, client, "nurse1")
            seen: list[tuple[str, dict[str, object]]] = []

            async def listen() -> None:
                """Collect the events the kiosk stream carries."""
                async with client.stream("GET", "/api/events") as stream:
                    assert stream.headers["content-type"].startswith("text/event-stream")
                    kind = ""
                    async for line in stream.aiter_lines():
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: "):
                            seen.append((kind, json.loads(line[6:])))

            listener = asyncio.create_task(listen())
            await ward.until(lambda: ward.runtime.hub.subscribers == 1)
            await client.post("/api/dispense", json={"patient_id": "IPP001", "order_id": "O-PARA"})
            await client.post("/api/task/confirm")
            await ward.until(lambda: ward.metal.released(0))
            ward.metal.open(0)
            await ward.until(lambda: any(k == "drawer" for k, _ in seen))
            await client.post("/api/task/cancel")
            ward.metal.close(0)
            await ward.until(lambda: any(k == "cancelled" for k, _ in seen))
            await ward.cabinet.sign_out()
            await asyncio.wait_for(listener, timeout=5)  # the stream ends with the session
            kinds = [k for k, _ in seen]
            assert "progress" in kinds and "drawer" in kinds
            assert seen[-1] == ("session", {"user_id": None, "reason": "ended"})
    finally:
        await ward.stop()


async def test_an_omission_reaches_the_screen_in_words(tmp_path: Path) -> None:
    from cabinet.workflows.events import OmissionAlert

    ward = Ward(tmp_path)
    await ward.start(serve=False)
    try:
        seen = []

        async def listen() -> None:
            """Collect the events the kiosk stream carries."""
            async for event in ward.runtime.hub.subscribe():
                if event.kind == "omission":
                    seen.append(event.data)
                    return

        listener = asyncio.create_task(listen())
        await ward.until(lambda: ward.runtime.hub.subscribers == 1)
        ward.runtime.publish_workflow(
            OmissionAlert(
                patient_id="IPP001", order_id="O-PARA", due_at="2026-11-30T08:00:00+00:00", seq=1
            )
        )
        await asyncio.wait_for(listener, 5)
        assert seen[0]["patient"] == "DUPONT Jean"
        assert seen[0]["item"] == "PARAcetamol 500 mg" and seen[0]["due"] == "08:00"
    finally:
        await ward.stop()
