"""The simulator launcher the tests use: `sim.hardware.client`, under the tests' names."""

from __future__ import annotations

from pathlib import Path

from sim.hardware.client import COMMAND as SIM
from sim.hardware.client import RunningSimulator as SimProcess
from sim.hardware.client import simulator as running_sim
from sim.hardware.client import stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "SIM", "SimProcess", "running_sim", "stop", "wait_ready"]
