"""Tests of the central pharmacy sync: contract, worker, simulated central, PKI."""
