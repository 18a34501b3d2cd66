"""The dispense confirmation answered as plain ASGI, ahead of FastAPI's routing and dependencies.

The confirmation is the one request whose latency is a target: from the nurse's touch to the
lock release on the wire (bench/ui_latency.py). Measured in the running daemon, FastAPI's
middleware, route matching and dependency solving took 0.40 ms of a 1.2 ms median before the
confirmation reached the workflow; served here the median fell to 0.8 ms. The lane admits with
the routes' own rule (`deps.admit`), calls the route's own function (`routes_care.confirmed`)
and answers in the shapes of the app's error handlers; the FastAPI route stays as the published
contract, and tests/ui/test_fastlane.py holds the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from cabinet.domain.refusals import Refused
from cabinet.ui.auth import COOKIE
from cabinet.ui.deps import admit
from cabinet.ui.gate import Lane
from cabinet.ui.routes_care import TASK_ACTIONS, confirmed
from cabinet.ui.routes_session import http_error_content, refusal_content, refusal_status
from cabinet.ui.runtime import Runtime


async def confirm(rt: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
    """POST /api/task/confirm: the route's admission, call and answers, without the framework."""
    response: Response
    try:
        admit(rt, HTTPConnection(scope).cookies.get(COOKIE), TASK_ACTIONS)
        answer = await confirmed(rt)
    except HTTPException as exc:
        response = JSONResponse(
            status_code=exc.status_code,
            content={"detail": http_error_content(exc)},
            headers=exc.headers,
        )
    except Refused as exc:
        response = JSONResponse(
            status_code=refusal_status(exc.code, scope["path"]),
            content={"detail": refusal_content(rt, exc)},
        )
    else:
        response = Response(answer.model_dump_json(), media_type="application/json")
    await response(scope, receive, send)


# (method, path) → lane. Only requests without path parameters, query or body belong here.
LANES: Mapping[tuple[str, str], Lane] = {("POST", "/api/task/confirm"): confirm}
