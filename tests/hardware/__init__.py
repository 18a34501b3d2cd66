"""Tests of the hardware coordinator and the shared hardware fakes."""
