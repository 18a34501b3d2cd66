"""Version 1 of the cabinet ↔ central pharmacy contract (sync.proto and its generated code)."""
