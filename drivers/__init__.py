"""Concrete drivers behind the hal/ contracts: Modbus boards and scales, serial barcode readers."""
