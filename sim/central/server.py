"""Starting the simulated central: TLS (mutual by default), health checking, reflection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc
from sim.central.db import CentralDb
from sim.central.intake import Faults
from sim.central.service import CentralService

SERVICE_NAME = sync_pb2.DESCRIPTOR.services_by_name["CentralPharmacy"].full_name
# The client pings at most every 20 s (see cabinet/sync/channel.py); allow down to 10 s so
# keepalive never earns a GOAWAY "too_many_pings".
_SERVER_OPTIONS = [
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


class CentralTlsError(Exception):
    """The central's TLS folder lacks a file it needs."""


@dataclass
class CentralOptions:
    """How to run one central."""

    db_path: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (printed at start)
    tls_dir: Path | None = None  # ca.pem, central.pem, central-key.pem from `cabinet pki init`
    insecure_development: bool = False
    enroll_on_first_contact: bool = False
    faults: Faults = field(default_factory=Faults)
    on_crash: Callable[[], None] | None = None  # default: stop serving at once


def server_credentials(tls_dir: Path) -> grpc.ServerCredentials:
    """Mutual TLS: our certificate, and client certificates required from the site CA."""
    try:
        ca = (tls_dir / "ca.pem").read_bytes()
        cert = (tls_dir / "central.pem").read_bytes()
        key = (tls_dir / "central-key.pem").read_bytes()
    except OSError as exc:
        raise CentralTlsError(
            f"{tls_dir}: needs ca.pem, central.pem and central-key.pem "
            f"(`cabinet pki init {tls_dir} --cabinet ID`): {exc.strerror}"
        ) from exc
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=True
    )


class RunningCentral:
    """A started central: its port, its service (faults, counters) and how to stop it."""

    def __init__(self, server: grpc.aio.Server, port: int, service: CentralService) -> None:
        """Wrap a started server."""
        self.server = server
        self.port = port
        self.service = service
        self.crashed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def crash(self) -> None:
        """The mid-batch fault in process: drop every connection at once, as a death would."""
        self.crashed.set()
        task = asyncio.get_running_loop().create_task(self.server.stop(None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self, grace: float | None = 0.5) -> None:
        """Stop serving; open streams are cancelled after `grace` seconds."""
        await self.server.stop(grace)


async def start(options: CentralOptions, db: CentralDb) -> RunningCentral:
    """Build and start the server inside the running loop."""
    if options.tls_dir is None and not options.insecure_development:
        raise CentralTlsError("mutual TLS needs --tls-dir (or --insecure-development)")
    server = grpc.aio.server(options=_SERVER_OPTIONS)
    service = CentralService(
        db,
        insecure=options.insecure_development,
        enroll=options.enroll_on_first_contact,
        faults=options.faults,
        on_crash=options.on_crash,
    )
    sync_pb2_grpc.add_CentralPharmacyServicer_to_server(service, server)
    health_service = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_service, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    address = f"{options.host}:{options.port}"
    if options.insecure_development:
        port = server.add_insecure_port(address)
    else:
        tls_dir = options.tls_dir or Path(".")
        port = server.add_secure_port(address, server_credentials(tls_dir))
    if port == 0:
        raise CentralTlsError(f"cannot listen on {address}")
    await server.start()
    await health_service.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    await health_service.set("", health_pb2.HealthCheckResponse.SERVING)
    running = RunningCentral(server, port, service)
    if service.on_crash is None:
        service.on_crash = running.crash
    return running
