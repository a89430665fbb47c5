"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import time
import tracemalloc


def best_of(repeats: int, run) -> float:
    """The least wall time of ``repeats`` runs, after one warm-up run (first-touch of memory, lazily built
    kernels)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_mb(run) -> float:
    """Python's traced allocations (numpy's arrays included) at their peak during one run, in MB."""
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return peak
