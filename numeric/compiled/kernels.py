"""Sums of absolute values over the large weight arrays, without allocating their absolute values.

A fresh 12 MB temporary (|W̄[0]| of the Atari-sized network) costs more in page faults than the
arithmetic on it; these work through a small reused buffer instead, a block of rows at a time.
"""

from __future__ import annotations

import numpy as np

_BLOCK = 1 << 16  # entries per block: 512 KB of float64, in cache


def abs_matmul(w: np.ndarray, x_abs: np.ndarray) -> np.ndarray:
    """|w| @ x_abs, for x_abs already nonnegative."""
    rows = max(1, _BLOCK // max(1, w.shape[1]))
    out = np.empty((w.shape[0], x_abs.shape[1]))
    buffer = np.empty((min(rows, w.shape[0]), w.shape[1]))
    for start in range(0, w.shape[0], rows):
        block = np.abs(w[start:start + rows], out=buffer[:min(rows, w.shape[0] - start)])
        np.matmul(block, x_abs, out=out[start:start + rows])
    return out


def abs_dot(a: np.ndarray, b_abs: np.ndarray) -> float:
    """Σ |a|·b_abs over all entries, for b_abs already nonnegative and shaped like a."""
    a, b_abs = a.reshape(-1), b_abs.reshape(-1)
    buffer = np.empty(min(_BLOCK, a.size))
    total = 0.0
    for start in range(0, a.size, _BLOCK):
        block = np.abs(a[start:start + _BLOCK], out=buffer[:min(_BLOCK, a.size - start)])
        total += float(np.dot(block, b_abs[start:start + _BLOCK]))
    return total
