"""The two products of the Ψ recurrence on numpy arrays, shared by the step-by-step recurrence
(:mod:`gradproof.numeric.compiled.matrix`) and its fast path (:mod:`gradproof.numeric.compiled.planned`).

For float64 arrays they go to BLAS by the shortest road; complex arrays (the complex step) and symbolic
(object) arrays, which the layer tracer runs through the same steps, keep numpy's operators.
"""

from __future__ import annotations

import numpy as np

try:   # the streaming outer product, compiled at install where a C compiler is (setup.py): optional
    from gradproof.numeric.compiled._streaming import STREAMING, outer_into
except ImportError:
    STREAMING, outer_into = 0, None

FLOAT64 = np.dtype(np.float64)
#: from this many entries (128 KB) on, an outer product is formed by broadcasting (see :func:`outer_sum`)
BROADCAST_ENTRIES = 1 << 14
#: from this many entries (512 KB) on, an outer product written into a given array is streamed past the
#: caches where the compiled kernel is built (:func:`streamed`)
STREAM_ENTRIES = 1 << 16


def product(weights: np.ndarray, columns: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """W̄·X̄ (or W̄ᵀ·Ψ): ``np.dot`` for float64 arrays, the same BLAS call as ``@`` with less dispatch (about
    a microsecond a product on small layers); ``out``, if given, receives it. One column goes as a vector:
    BLAS's matrix-vector product streams W̄ faster than its matrix product with one column (517×3001, one
    thread: 0.69 ms against 0.92 ms)."""
    if getattr(weights, "dtype", None) is FLOAT64 and getattr(columns, "dtype", None) is FLOAT64:
        if columns.ndim == 2 and columns.shape[1] == 1 and weights.ndim == 2:
            column = None if out is None else out[:, 0]
            if column is None or column.flags.c_contiguous:
                found = np.dot(weights, columns[:, 0], out=column)
                return found[:, None] if out is None else out
        return np.dot(weights, columns, out=out)
    return weights @ columns if out is None else np.matmul(weights, columns, out=out)


def outer_sum(psi: np.ndarray, xbar: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Ψ·X̄ᵀ, summed over the samples; ``out``, a C-contiguous float64 array of the result's shape, receives it
    where Ψ and X̄ are float64 (else a fresh array). For one sample the outer product: each entry is one
    product rounded once whichever way it is formed, and only a zero's sign may differ (BLAS adds the product
    to +0). On small results BLAS (``np.dot``, an inner dimension of 1) is a microsecond faster than
    broadcasting, whose loop restarts per row, and several times faster than ``@`` (numpy's matmul takes its
    general loop there); from ``BROADCAST_ENTRIES`` on, broadcasting's one pass wins, by far: OpenBLAS
    0.3.31's rank-1 product, one thread, is 3–5× slower from about 30,000 entries (256×518 into a reused
    buffer: 719 µs against 139 µs; 517×3001: 10.9 ms against 1.4 ms; 128×129: 24 µs against 23 µs)."""
    real = psi.dtype is FLOAT64 and xbar.dtype is FLOAT64
    if psi.shape[1] != 1:
        return np.matmul(psi, xbar.T, out=out) if real and out is not None else psi @ xbar.T
    if not real:
        return psi * xbar.T
    if psi.shape[0] * xbar.shape[0] >= STREAM_ENTRIES and STREAMING:
        target = np.empty((psi.shape[0], xbar.shape[0])) if out is None else out
        if streamed(psi[:, 0], xbar[:, 0], target):
            return target
    if psi.shape[0] * xbar.shape[0] >= BROADCAST_ENTRIES:
        return np.multiply(psi, xbar.T, out=out)
    return np.dot(psi, xbar.T, out=out)


def streamed(psi: np.ndarray, xbar: np.ndarray, out: np.ndarray | None) -> bool:
    """``out`` = psi ⊗ x̄ by the compiled kernel (``numeric/compiled/_streaming.c``), where it is built and
    ``out`` is a writeable C-contiguous float64 array of that shape (and Ψ and x̄ float64); False (nothing
    written) otherwise. The same products, rounded once each, as broadcasting's: bit for bit (but for which
    NaN's payload the product of two NaNs carries). Written past the caches, a large
    gradient moves half the bytes (an ordinary store reads each line it writes first): 517×3001 after
    the forward's matrix-vector product, one thread, 1.4 ms against numpy's 2.4 ms (``benchmarks/figures.py
    psi-dense`` measures the whole gradient)."""
    if not STREAMING or out.dtype is not FLOAT64 or psi.dtype is not FLOAT64 or xbar.dtype is not FLOAT64 \
            or not out.flags.c_contiguous or not out.flags.writeable or out.shape != (psi.shape[0], xbar.shape[0]):
        return False
    outer_into(np.ascontiguousarray(psi), np.ascontiguousarray(xbar), out)
    return True
