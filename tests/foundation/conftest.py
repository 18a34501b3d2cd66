"""Fixtures of the foundation tests: a driven clock and a seeded, signed store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cabinet.clock import DrivenClock
from cabinet.store import Store
from tests.foundation.helpers import open_store, seed


@pytest.fixture
def clock() -> DrivenClock:
    """Time that moves only when the test says so."""
    return DrivenClock()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A fresh state directory."""
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def store(state: Path, clock: DrivenClock) -> Iterator[Store]:
    """A signed store with three filled pockets (20 each) and a return bin."""
    s = open_store(state, clock, checkpoint_every=10)
    with s.transaction() as conn:
        seed(conn)
    try:
        yield s
    finally:
        s.close()
