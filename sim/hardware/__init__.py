"""The hardware simulator: lock/IO board, scales and barcode reader on real wire protocols."""
