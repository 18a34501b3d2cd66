"""Settings shared by every test area; each area keeps its own fixtures in its folder."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Two cores shared by the whole suite: a slow example is load, not a bug. Property tests keep
# their example counts; only the per-example deadline and the too-slow health check go.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "shared-machine"))
