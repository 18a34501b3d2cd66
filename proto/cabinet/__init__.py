"""Contracts of the cabinet package, one folder per major version."""
