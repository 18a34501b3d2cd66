"""The kiosk web server as a daemon service: uvicorn inside the daemon's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from cabinet.ui.events import EventHub

log = logging.getLogger("cabinet.ui")


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM and SIGINT to the daemon, which owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install nothing: the daemon stops every service in order on a signal."""
        yield


class UiService:
    """Serves the kiosk page and the local API until the daemon stops."""

    name = "ui"

    def __init__(
        self,
        app: FastAPI,
        hub: EventHub,
        *,
        host: str,
        port: int,
        address_file: Path | None = None,
    ) -> None:
        """Keep what the object needs; nothing starts here."""
        self._app = app
        self._hub = hub
        self._host = host
        self._port = port
        self._address_file = address_file
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self) -> None:
        """Bind the socket and return once uvicorn accepts connections."""
        config = uvicorn.Config(
            self._app,
            host=self._host,
            port=self._port,
            log_level="warning",
            log_config=None,  # keep the daemon's one-line structured log format
            lifespan="off",
            http="httptools",
            access_log=False,
            # Nothing stands in front of the kiosk's server: no other local process may set the
            # client's address with X-Forwarded-For (and the request skips one more layer).
            proxy_headers=False,
            # Our own stop closes live event streams first; do not wait long for stragglers.
            timeout_graceful_shutdown=2,
        )
        server = _QuietServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(), name="ui-server")
        while not server.started:
            if self._task.done():
                self._task.result()  # surfaces the bind error
                raise RuntimeError("the web server stopped before it started")
            await asyncio.sleep(0.01)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}/"
        if self._address_file is not None:
            self._address_file.write_text(self.url + "\n", encoding="utf-8")
        log.info("ui listening url=%s", self.url)

    async def stop(self) -> None:
        """Close live streams, then stop accepting and finish the requests in flight."""
        self._hub.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._address_file is not None:
            self._address_file.unlink(missing_ok=True)

    def making_progress(self) -> bool:
        """The web server has no critical loop: it never holds the watchdog back."""
        return True
