"""numpy kernels of the activations and losses: stable where they saturate, and analytic (complex
arguments allowed) so the complex step can differentiate them.

numpy's own complex ``log1p`` and ``tanh`` lose their relative accuracy where these keep it; the tests
compare each kernel with mpmath.
"""

from __future__ import annotations

import numpy as np


FLOAT64 = np.dtype(np.float64)


def sigmoid(z):
    """σ(z) = 1/(1 + e^(−z)) without overflow, for real or complex z."""
    if type(z) is np.ndarray and z.dtype is FLOAT64 and z.ndim:
        return sigmoid_into(z, np.empty(z.shape))
    if np.iscomplexobj(z):
        right = np.real(z) >= 0
        e = np.exp(np.where(right, -z, z))  # never overflows: its real part is <= 0
        return np.where(right, 1 / (1 + e), e / (1 + e))
    if getattr(z, "dtype", None) == object:   # traced into sympy (prove-layer): the formula itself, no buffers
        return 1 / (1 + np.exp(-z))
    real = np.asarray(z, dtype=np.float64)  # a scalar, an int or float32 array: the same formula in float64
    flat = real.reshape(real.shape or (1,))
    return sigmoid_into(flat, np.empty(flat.shape)).reshape(real.shape)


def sigmoid_into(z, out):
    """σ(z) of a float64 array, written into ``out`` (float64, z's shape; z itself is allowed) and returned:
    the real formula above in eight numpy calls, the same numbers. e = e^(−|z|) never overflows, r = 1/(1 + e)
    is σ where z ≥ 0 and e·r where z < 0 (by the sign bit: at −0 e·r = 1·½ = r, and a NaN stays NaN)."""
    negative = np.signbit(z)  # before ``out`` (perhaps z) is written
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.add(e, 1.0, out=out)
    np.reciprocal(out, out=out)
    np.multiply(e, out, out=e)
    np.copyto(out, e, where=negative)
    return out


def tanh_into(z, out):
    """tanh of a float64 array, written into ``out`` and returned (numpy's, as :func:`tanh` for real z)."""
    return np.tanh(z, out=out)


def log1p(w):
    """log(1 + w), accurate for small |w| also when w is complex (numpy's complex log1p computes
    log(1 + w) and loses the relative accuracy of its real part, by ~u/|w|)."""
    if not np.iscomplexobj(w):
        return np.log1p(w)
    re, im = np.real(w), np.imag(w)
    return 0.5 * np.log1p(2 * re + re * re + im * im) + 1j * np.arctan2(im, 1 + re)


def tanh(z):
    """tanh, with the imaginary part accurate where tanh saturates (numpy's complex tanh loses its
    relative accuracy there, by ~1e-7 at |z| = 20): tanh(x + iy) = (t(1 + s²) + i·s·sech²x)/(1 + t²s²)
    with t = tanh x, s = tan y, sech x = 2e^(−|x|)/(1 + e^(−2|x|))."""
    if not np.iscomplexobj(z):
        return np.tanh(z)
    x, y = np.real(z), np.imag(z)
    t, s = np.tanh(x), np.tan(y)
    e = np.exp(-np.abs(x))
    sech2 = (2 * e / (1 + e * e)) ** 2
    return (t * (1 + s * s) + 1j * s * sech2) / (1 + t * t * s * s)


def softplus(z):
    """log(1 + e^z) without overflow."""
    right = np.real(z) >= 0
    return np.where(right, z, 0) + log1p(np.exp(np.where(right, -z, z)))


def relu(z):
    """max(0, z) (by the real part, so complex steps pass through)."""
    return np.where(np.real(z) > 0, z, 0)


def heaviside(z, h0=0):
    """H(z), with H(0) = h0."""
    return np.where(np.real(z) > 0, 1.0, np.where(np.real(z) == 0, float(h0), 0.0))


def log_sigmoid(z):
    """log σ(z) without overflow, analytic in z (for the complex step)."""
    right = np.real(z) >= 0
    return -(np.where(right, 0, -z) + log1p(np.exp(np.where(right, -z, z))))


# --- the derivative rules in numpy (the Ψ recurrence's a'; the numeric check is their witness) ---

def sigmoid_derivative(z):
    """σ'(z) = σ(z)·(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def tanh_derivative(z):
    """tanh'(z) = 1 − tanh(z)²."""
    t = np.tanh(z)
    return 1 - t * t


def sigmoid_derivative_of_output(s):
    """σ' from s = σ(z): s·(1 − s), the same operations as :func:`sigmoid_derivative`."""
    return s * (1 - s)


def tanh_derivative_of_output(t):
    """tanh' from t = tanh(z): 1 − t², the same operations as :func:`tanh_derivative`."""
    return 1 - t * t


def relu_derivative(z):
    """relu'(z) = H(z), with relu'(0) = 0."""
    return heaviside(z, 0)


def identity(z):
    return z


def one(z):
    """The identity's derivative, shaped like z."""
    return np.ones(np.shape(z))


#: (kernel, the same kernel writing a float64 result into a given array): where a caller owns the array a(z)
#: is needed in (the next layer's X̄, behind its row of ones), it is written there without a copy
INTO = ((sigmoid, sigmoid_into), (tanh, tanh_into))

#: the kernels by the names the symbolic functions print as: what ``lambdify`` maps them to, and what the
#: per-weight forms cached on disk run with (:mod:`gradproof.numeric.compiled.per_weight`)
LAMBDIFIED = {
    "sigmoid": sigmoid,
    "softplus": softplus,
    "relu": relu,
    "Heaviside": heaviside,
    "Exp": np.exp,
    "tanh": tanh,
}
