"""Fixtures of the workflow tests: a started ward, stopped whatever happens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.workflows.world import World


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """A started ward with nobody signed in."""
    w = World(tmp_path)
    try:
        await w.start()
        yield w
    finally:
        await w.stop()
