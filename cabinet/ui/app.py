"""The local API and kiosk page: a FastAPI app over the workflow API, on the loopback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from cabinet.domain.refusals import Refused
from cabinet.ui import routes_cabinet, routes_care, routes_review, routes_session
from cabinet.ui.deps import session_ended
from cabinet.ui.fastlane import LANES
from cabinet.ui.gate import Gate
from cabinet.ui.i18n import translate
from cabinet.ui.routes_session import STATIC, http_error_content, refusal_body, refusal_status
from cabinet.ui.runtime import Runtime

log = logging.getLogger("cabinet.ui")


def create_app(runtime: Runtime, *, fast_lanes: bool = True) -> FastAPI:
    """Build the app; every route but the sign-in screen needs a live session.

    `fast_lanes=False` leaves every request to FastAPI's routes: the reference the fast lanes
    are tested against.
    """
    app = FastAPI(
        title="Cabinet local API",
        version="1",
        description="The touchscreen's API: sign-in, patients and orders, dispense, override, "
        "waste, return, restock, count, discrepancies, alarms, status and live events.",
        docs_url=None,  # the interactive docs page would load assets from the internet
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(routes_session.router)
    app.include_router(routes_care.router)
    app.include_router(routes_cabinet.router)
    app.include_router(routes_review.router)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        """A refusal of the cabinet: its code and sentence; nothing was changed."""
        status = refusal_status(exc.code, request.url.path)
        return JSONResponse(status_code=status, content={"detail": refusal_body(request, exc)})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A malformed request: 422 with the fields at fault, never a crash."""
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        text = translate("error.invalid", runtime.language)
        return JSONResponse(
            status_code=422,
            content={"detail": {"code": "invalid", "message": text, "params": {"fields": fields}}},
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        """HTTP errors keep the refusal shape the page expects."""
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": http_error_content(exc)},
            headers=exc.headers,
        )

    app.add_middleware(
        Gate, runtime=runtime, ended=session_ended, lanes=LANES if fast_lanes else {}
    )
    return app
