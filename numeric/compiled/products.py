"""The two products of the Ψ recurrence on numpy arrays, shared by the step-by-step recurrence
(:mod:`gradproof.numeric.compiled.matrix`) and its fast path (:mod:`gradproof.numeric.compiled.planned`).

For float64 arrays they go to BLAS by the shortest road; complex arrays (the complex step) and symbolic
(object) arrays, which the layer tracer runs through the same steps, keep numpy's operators.
"""

from __future__ import annotations

import numpy as np

FLOAT64 = np.dtype(np.float64)
#: from this many entries (8 MB) on, an outer product is formed by broadcasting (see :func:`outer_sum`)
BROADCAST_ENTRIES = 1 << 20


def product(weights: np.ndarray, columns: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """W̄·X̄ (or W̄ᵀ·Ψ): ``np.dot`` for float64 arrays, the same BLAS call as ``@`` with less dispatch (about
    a microsecond a product on small layers); ``out``, if given, receives it."""
    if getattr(weights, "dtype", None) is FLOAT64 and getattr(columns, "dtype", None) is FLOAT64:
        return np.dot(weights, columns, out=out)
    return weights @ columns if out is None else np.matmul(weights, columns, out=out)


def outer_sum(psi: np.ndarray, xbar: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Ψ·X̄ᵀ, summed over the samples; ``out``, a C-contiguous float64 array of the result's shape, receives it
    where Ψ and X̄ are float64 (else a fresh array). For one sample the outer product: each entry is one
    product rounded once whichever way it is formed, and only a zero's sign may differ (BLAS adds the product
    to +0). BLAS (``np.dot``, an inner dimension of 1) forms it twice as fast as broadcasting, whose loop
    restarts per row, and several times faster than ``@`` (numpy's matmul takes its general loop there); from
    ``BROADCAST_ENTRIES`` on, where memory is the cost, broadcasting's one pass beats BLAS's two (it zeroes
    the result first)."""
    real = psi.dtype is FLOAT64 and xbar.dtype is FLOAT64
    if psi.shape[1] != 1:
        return np.matmul(psi, xbar.T, out=out) if real and out is not None else psi @ xbar.T
    if not real:
        return psi * xbar.T
    if psi.shape[0] * xbar.shape[0] >= BROADCAST_ENTRIES:
        return np.multiply(psi, xbar.T, out=out)
    return np.dot(psi, xbar.T, out=out)
