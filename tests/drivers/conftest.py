"""Fixtures of the driver tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.drivers.rtu_script import RtuScript, rtu_pty


@pytest.fixture
async def script() -> AsyncIterator[RtuScript]:
    """The device side of a fresh pty pair."""
    with rtu_pty() as s:
        yield s
