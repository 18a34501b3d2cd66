"""Example scenario files for `cabinet-sim hardware --scenario` (shipped as package data)."""
