"""The deny-by-default gate in front of every API route, as plain ASGI middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cabinet.ui.auth import COOKIE
from cabinet.ui.runtime import Runtime

# A request answered by the gate itself: (runtime, scope, receive, send).
Lane = Callable[[Runtime, Scope, Receive, Send], Awaitable[None]]

# The kiosk page may only load what the cabinet itself serves: nothing from the internet.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# What the sign-in screen may call before anyone has signed in.
PUBLIC_API = {("GET", "/api/kiosk"), ("POST", "/api/signin"), ("POST", "/api/signin/cancel")}


class Gate:
    """No API answer without a live session, whatever the request holds; security headers on all.

    The routes check the session and the roles again; this gate only makes sure that not even
    a malformed request learns anything before the session is checked. It is plain ASGI rather
    than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every request through an
    extra task and memory stream, a measurable share of the confirmation-to-release latency, and
    it buffers streaming answers such as the live event stream.
    """

    def __init__(
        self,
        app: ASGIApp,
        runtime: Runtime,
        ended: Callable[[Runtime], str],
        lanes: Mapping[tuple[str, str], Lane] | None = None,
    ) -> None:
        """Wrap `app`; `ended` gives the words for an ended session in the kiosk's language.

        `lanes` answer a few (method, path) pairs themselves, past this gate's session check
        and with its headers, instead of passing them to `app` (fastlane.py says why).
        """
        self.app = app
        self.runtime = runtime
        self.ended = ended
        self.lanes = dict(lanes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an unauthenticated API request, or pass it on and add the headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        api = path.startswith("/api/")
        if (
            api
            and (scope["method"], path) not in PUBLIC_API
            and self.runtime.binder.user_for(HTTPConnection(scope).cookies.get(COOKIE)) is None
        ):
            refusal = JSONResponse(
                status_code=401,
                content={"detail": {"code": "session_ended", "message": self.ended(self.runtime)}},
                headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP},
            )
            await refusal(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            """Add the security headers to the start of the answer."""
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                if api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        lane = self.lanes.get((scope["method"], path)) if api else None
        if lane is not None:
            await lane(self.runtime, scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)
