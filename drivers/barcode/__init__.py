"""Barcode readers over serial or TCP, and the decoder that turns a read into a `hal.Scan`."""
