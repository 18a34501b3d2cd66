"""Fixtures of the driver tests."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.drivers.rtu_script import RtuScript, rtu_pty


@pytest.fixture
async def script() -> AsyncIterator[RtuScript]:
    """The device side of a fresh pty pair."""
    with rtu_pty() as s:
        yield s


@pytest.fixture(autouse=True)
def no_leaked_descriptors() -> Iterator[None]:
    """Fail a test that leaves a port, pty or socket open behind it."""
    before = set(os.listdir("/proc/self/fd"))
    yield
    gc.collect()  # a transport closed but not yet collected still holds its descriptor
    leaked = {fd: _target(fd) for fd in set(os.listdir("/proc/self/fd")) - before}
    leaked = {fd: where for fd, where in leaked.items() if where}
    assert not leaked, f"descriptors left open: {leaked}"


def _target(fd: str) -> str:
    """What a descriptor points at ("" if it closed while we looked)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""
