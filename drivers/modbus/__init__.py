"""Modbus drivers: transport (one client per bus), register codecs (profiles) and devices."""

from drivers.modbus.codec import (
    CABINET_PROFILE,
    HX711_NET_PROFILE,
    HX711_PROFILE,
    PROFILES,
    ScaleProfile,
)
from drivers.modbus.lockboard import ModbusLockBoard
from drivers.modbus.scales import ModbusScaleBank
from drivers.modbus.transport import ModbusLink

__all__ = [
    "CABINET_PROFILE",
    "HX711_NET_PROFILE",
    "HX711_PROFILE",
    "PROFILES",
    "ModbusLink",
    "ModbusLockBoard",
    "ModbusScaleBank",
    "ScaleProfile",
]
