"""Simulators of the cabinet's outside world: the hardware and the central pharmacy."""
