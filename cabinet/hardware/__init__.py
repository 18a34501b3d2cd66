"""The hardware coordinator and what it publishes; see cabinet.hardware.coordinator for the API."""

from cabinet.hardware.coordinator import HardwareCoordinator
from cabinet.hardware.errors import (
    HardwareUnavailable,
    RefusalCode,
    ReleaseRefused,
    SettleTimeout,
)
from cabinet.hardware.events import (
    AlarmCode,
    CabinetSnapshot,
    DeviceBack,
    DeviceDownEvent,
    DeviceState,
    DrawerClosed,
    DrawerForced,
    DrawerOpened,
    DrawerState,
    HardwareAlarm,
    HardwareEvent,
    WeightSettled,
)

__all__ = [
    "AlarmCode",
    "CabinetSnapshot",
    "DeviceBack",
    "DeviceDownEvent",
    "DeviceState",
    "DrawerClosed",
    "DrawerForced",
    "DrawerOpened",
    "DrawerState",
    "HardwareAlarm",
    "HardwareCoordinator",
    "HardwareEvent",
    "HardwareUnavailable",
    "RefusalCode",
    "ReleaseRefused",
    "SettleTimeout",
    "WeightSettled",
]
