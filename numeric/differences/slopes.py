"""Derivatives of the activations' and losses' own numpy forms by the complex step: the magnitudes the
error bounds scale with, and the slopes the split complex step carries.

Nothing here reads a hand-written derivative rule: each slope is Im f(z + i·η)/η of the numpy form f,
exact to rounding for analytic f (its truncation, η²·|f‴|/6 relative at η = 1e-30, is 40 orders below
float64's rounding).
"""

from __future__ import annotations

import numpy as np

_CSTEP = 1e-30
#: an imaginary part below _RESOLVED has lost digits to underflow (a derivative below ~1e-271 at _CSTEP);
#: _WIDE_STEP shows what such a derivative is: a magnitude to ~1e-12 (the complex step's truncation,
#: η²·|f‴/f′|/6 relative, for the exponential tails that make derivatives this small)
_RESOLVED = 2.0 ** -1000
_WIDE_STEP = 1e-6
_HESS_STEP = 1e-4


def complex_step_parts(f, z: np.ndarray, direction=1.0):
    """f'(z) elementwise (or along ``direction``) by the complex step at 1e-30, exact to rounding for
    analytic f; where its imaginary part underflowed, also f' at the wide step 1e-6 (else None), and the
    mask of those entries."""
    slope = np.imag(f(z + 1j * _CSTEP * direction)) / _CSTEP
    lost = np.abs(slope) * _CSTEP < _RESOLVED
    wide = np.imag(f(z + 1j * _WIDE_STEP * direction)) / _WIDE_STEP if np.any(lost) else None
    return slope, wide, lost


def tiny_but_not_zero(magnitude: np.ndarray) -> np.ndarray:
    """Where a derivative's magnitude, from the wide step, is nonzero yet below what the step at 1e-30
    resolves: a real derivative lost to underflow, not a zero showing rounding and truncation."""
    return (magnitude > 0) & (magnitude < _RESOLVED / _CSTEP)


def complex_step(f, z: np.ndarray, direction=1.0) -> np.ndarray:
    """f'(z) by the complex step: exact to rounding, and a magnitude to ~1e-12 where the derivative is so
    small that its imaginary part would underflow."""
    slope, wide, lost = complex_step_parts(f, z, direction)
    return slope if wide is None else np.where(lost, wide, slope)


def partials(f, at: np.ndarray, slope=complex_step) -> np.ndarray:
    """∂f/∂atₖ for each row k of ``at`` (f maps (rows, B) to (B,)), by ``slope`` along row k."""
    rows = []
    for k in range(at.shape[0]):
        direction = np.zeros(at.shape)
        direction[k] = 1
        rows.append(slope(f, at, direction))
    return np.array(rows)


def second_derivative(f, z: np.ndarray) -> np.ndarray:
    """|f''(z)| elementwise: a central difference of complex steps (a magnitude, to ~1e-8)."""
    step = _HESS_STEP * np.maximum(1, np.abs(z))
    return np.abs(complex_step(f, z + step) - complex_step(f, z - step)) / (2 * step)
