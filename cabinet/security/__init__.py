"""Secrets of the cabinet: hashed PINs and badge codes, and the ledger signing key."""
