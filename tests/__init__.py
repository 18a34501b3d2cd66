"""Test suite of the cabinet controller."""
