"""The gRPC channel to the central: mutual TLS by default, plain only for development."""

from __future__ import annotations

import grpc

from cabinet.config import CentralSection
from cabinet.errors import ConfigError


def channel_options(central: CentralSection) -> list[tuple[str, int]]:
    """Keepalive matched with the central's ping policy; reconnect attempts never sleep long."""
    return [
        ("grpc.keepalive_time_ms", 20_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # The channel's own reconnect backoff would otherwise grow to 2 minutes; ours is the
        # one that counts, so keep the channel's short.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", int(min(central.backoff_max_s, 5.0) * 1000)),
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ]


def open_channel(central: CentralSection, *, production: bool) -> grpc.aio.Channel:
    """A channel to the central; call inside the running event loop."""
    options = channel_options(central)
    if central.insecure_development:
        if production:
            raise ConfigError("central.insecure_development = true: refused in production")
        return grpc.aio.insecure_channel(central.address, options=options)
    if central.ca_file is None or central.cert_file is None or central.key_file is None:
        raise ConfigError("central: mutual TLS needs ca_file, cert_file and key_file")
    try:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=central.ca_file.read_bytes(),
            private_key=central.key_file.read_bytes(),
            certificate_chain=central.cert_file.read_bytes(),
        )
    except OSError as exc:
        raise ConfigError(f"central: cannot read a TLS file: {exc}") from exc
    return grpc.aio.secure_channel(central.address, credentials, options=options)
