"""In-memory fakes of our own hal/ contracts, shared by every domain's tests."""

from tests.fakes.hardware import (
    DrawerStillLocked,
    FakeBarcodeReader,
    FakeCabinet,
    FakeLockBoard,
    FakeScaleBank,
)

__all__ = [
    "DrawerStillLocked",
    "FakeBarcodeReader",
    "FakeCabinet",
    "FakeLockBoard",
    "FakeScaleBank",
]
