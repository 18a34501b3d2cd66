"""Helpers shared by the benchmarks: timing and the one JSON line each benchmark ends with."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Benchmarks run as `python bench/x.py`: make the repository importable without an install.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark's result as exactly one JSON line on stdout."""
    if "bench" not in result or "met" not in result:
        raise ValueError("a benchmark result needs at least 'bench' and 'met'")
    print(json.dumps(result, sort_keys=False, separators=(", ", ": ")), flush=True)


@dataclass
class Timer:
    """Elapsed wall time of a `with timed() as t:` block, in seconds."""

    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    """Measure the wall time of a block: `with timed() as t: ...; t.seconds`."""
    timer = Timer()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - timer.started


def rate(count: int, seconds: float) -> float:
    """Operations per second, rounded for a readable JSON line."""
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile (0-100) by the nearest-rank method."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def latencies(action: Callable[[], object], repeat: int) -> list[float]:
    """Run `action` `repeat` times and return each run's duration in seconds."""
    out: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        out.append(time.perf_counter() - start)
    return out


def summary_ms(samples: list[float]) -> dict[str, float]:
    """p50, p99 and mean of durations in seconds, as milliseconds."""
    return {
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }
