"""The confirmation's fast lane answers exactly as the FastAPI route it stands in front of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cabinet.ui.app import create_app
from cabinet.ui.fastlane import LANES
from cabinet.ui.gate import Gate
from cabinet.ui.models import TaskOut
from tests.ui.conftest import badge_in
from tests.ui.ward import PINS, Ward

CONFIRM = "/api/task/confirm"


@pytest.fixture
async def reference(ward: Ward) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same runtime through an app without lanes: FastAPI's route answers."""
    app = create_app(ward.runtime, fast_lanes=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def both(
    lane: httpx.AsyncClient, reference: httpx.AsyncClient
) -> tuple[httpx.Response, httpx.Response]:
    """Confirm through the lane, then through the route, with the lane's session cookie."""
    reference.cookies = lane.cookies
    return await lane.post(CONFIRM), await reference.post(CONFIRM)


def same(a: httpx.Response, b: httpx.Response, *, ignore: tuple[str, ...] = ()) -> Any:
    """Assert that two answers are one: status, body and the headers the page relies on."""
    assert a.status_code == b.status_code, (a.text, b.text)
    assert {k: v for k, v in a.json().items() if k not in ignore} == {
        k: v for k, v in b.json().items() if k not in ignore
    }
    for header in ("content-type", "cache-control", "content-security-policy"):
        assert a.headers.get(header) == b.headers.get(header), header
    return a.json()


def test_every_lane_serves_a_published_route_and_the_app_uses_them(ward: Ward) -> None:
    schema = ward.app.openapi()
    for method, path in LANES:
        assert method.lower() in schema["paths"][path], (method, path)
    gates = [m for m in ward.app.user_middleware if m.cls is Gate]
    assert len(gates) == 1 and gates[0].kwargs["lanes"] is LANES


async def test_without_a_session_both_refuse_alike(
    client: httpx.AsyncClient, reference: httpx.AsyncClient
) -> None:
    lane, ref = await both(client, reference)
    assert same(lane, ref)["detail"]["code"] == "session_ended"
    assert lane.status_code == 401


async def test_a_role_without_drawer_tasks_is_refused_alike(
    client: httpx.AsyncClient, reference: httpx.AsyncClient
) -> None:
    signed = await client.post("/api/signin", json={"pin": PINS["audit1"], "user_id": "audit1"})
    assert signed.status_code == 200, signed.text
    lane, ref = await both(client, reference)
    assert lane.status_code == 403
    assert same(lane, ref)["detail"]["code"] == "not_authorised"


async def test_nothing_to_confirm_is_refused_alike_in_words(
    ward: Ward, client: httpx.AsyncClient, reference: httpx.AsyncClient
) -> None:
    await badge_in(ward, client, "nurse1")
    lane, ref = await both(client, reference)
    detail = same(lane, ref)["detail"]
    assert lane.status_code == 409 and detail["code"] and detail["message"]


async def test_a_confirmation_releases_the_drawer_alike(
    ward: Ward, client: httpx.AsyncClient, reference: httpx.AsyncClient
) -> None:
    await badge_in(ward, client, "nurse1")
    reference.cookies = client.cookies
    answers = []
    for confirm_with in (client, reference):
        prepared = await client.post(
            "/api/dispense", json={"patient_id": "IPP001", "order_id": "O-PARA"}
        )
        assert prepared.status_code == 200, prepared.text
        released = await confirm_with.post(CONFIRM)
        assert released.status_code == 200, released.text
        assert TaskOut.model_validate(released.json()).step == "released"
        await ward.until(lambda: ward.metal.released(0))
        # Confirming twice is refused the same way by both.
        again_lane, again_ref = await both(client, reference)
        assert again_lane.status_code == 409
        same(again_lane, again_ref)
        assert (await client.post("/api/task/cancel")).status_code == 200
        await ward.until(lambda: ward.cabinet.ticket() is None, within=15)
        answers.append(released)
    assert answers[0].json()["task_id"] != answers[1].json()["task_id"]
    same(*answers, ignore=("task_id",))
    assert ward.stock(0, 0) == 20  # nothing was taken: both cancelled
