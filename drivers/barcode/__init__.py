"""Barcode readers over serial or TCP, and the decoder that turns a read into a `hal.Scan`."""

from drivers.barcode.decode import decode, decode_pack
from drivers.barcode.reader import StreamBarcodeReader, serial_reader, tcp_reader

__all__ = ["StreamBarcodeReader", "decode", "decode_pack", "serial_reader", "tcp_reader"]
