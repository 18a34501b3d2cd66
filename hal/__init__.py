"""Hardware contracts: protocols, value types and errors; no I/O and no imports of ours."""

from hal.contracts import BarcodeReader, LockBoard, ScaleBank, Thermometer
from hal.errors import (
    DeviceDown,
    HardwareError,
    PermanentHardwareError,
    ProtocolError,
    TransientHardwareError,
)
from hal.values import (
    BoardStatus,
    DrugPack,
    PatientWristband,
    Scan,
    ScanKind,
    StaffBadge,
    TemperatureReading,
    UnknownCode,
    WeightReading,
)

__all__ = [
    "BarcodeReader",
    "BoardStatus",
    "DeviceDown",
    "DrugPack",
    "HardwareError",
    "LockBoard",
    "PatientWristband",
    "PermanentHardwareError",
    "ProtocolError",
    "ScaleBank",
    "Scan",
    "ScanKind",
    "StaffBadge",
    "TemperatureReading",
    "Thermometer",
    "TransientHardwareError",
    "UnknownCode",
    "WeightReading",
]
