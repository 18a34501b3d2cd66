"""Fixtures of the report tests: the fixed ward history, built once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reports.history import History, build


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The fixed history in its own store (read-only in the tests that share it)."""
    return build(tmp_path_factory.mktemp("ward") / "cabinet.db")


@pytest.fixture
def fresh_ward(tmp_path: Path) -> Iterator[History]:
    """The fixed history in a store the test may write to."""
    yield build(tmp_path / "cabinet.db")
