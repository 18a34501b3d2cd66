"""`python -m sim.central`: run the simulated central pharmacy."""

from sim.central.cli import main

raise SystemExit(main())
