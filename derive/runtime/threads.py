"""One BLAS thread by default for gradproof's kernels.

The numeric kernels are many small or memory-bound products (a matrix–vector product per layer, outer
products): a second BLAS thread buys little there, and on a busy 2-core machine numpy was measured up to
100× slower with two threads fighting over the cores. So the command line, the benchmarks and the test
suite start with one thread, which BLAS libraries read from the environment when numpy is first
imported. To choose another number, set ``GRADPROOF_THREADS`` (or ``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` themselves, which win). In your own programs gradproof changes
nothing: set the variables before importing numpy, or use ``threadpoolctl.threadpool_limits(1)``.
"""

from __future__ import annotations

import os

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_blas_threads() -> str:
    """Set each BLAS thread variable not already set to ``GRADPROOF_THREADS`` (default 1); call this
    before numpy is imported. Returns the number chosen."""
    threads = os.environ.get("GRADPROOF_THREADS", "1")
    for variable in VARIABLES:
        os.environ.setdefault(variable, threads)
    return threads
