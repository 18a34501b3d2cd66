"""Tests of the drivers: literal Modbus frames, scans, the serial reader, the simulator."""
