"""Workflow tests: sessions, dispensing, faults, crashes and the safety invariants."""
