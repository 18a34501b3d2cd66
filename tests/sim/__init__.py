"""Tests of the hardware simulator, over its real wire protocols."""
