"""The numpy kernels are accurate to a few ulps, also for complex arguments (the complex step evaluates
them at z + i·h): the error model assumes it."""

import mpmath
import numpy as np
import pytest

from gradproof.derive.model import kernels
from gradproof.derive.model.activations import ACTIVATIONS
from gradproof.derive.model.kernels import log1p
from gradproof.derive.model.kernels import log_sigmoid as _np_log_sigmoid

mpmath.mp.dps = 40
POINTS = np.concatenate([np.linspace(-40, 40, 161), [-1e-3, 1e-3, 1e-8, -700, 700]])
EXACT = {
    "sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)),
    "tanh": mpmath.tanh,
    "softplus": lambda t: mpmath.log1p(mpmath.exp(t)),
    "log-sigmoid": lambda t: -mpmath.log1p(mpmath.exp(-t)),
}
KERNELS = {name: ACTIVATIONS[name].np_forward for name in ("sigmoid", "tanh", "softplus")}
KERNELS["log-sigmoid"] = _np_log_sigmoid


def _relative(value, exact):
    return abs(float((value - exact) / exact)) if exact != 0 else abs(float(value))


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_values_and_complex_step_derivatives_within_a_few_ulps(name):
    eps = np.finfo(float).eps
    for z in POINTS:
        exact, slope = EXACT[name](mpmath.mpf(z)), mpmath.diff(EXACT[name], mpmath.mpf(z))
        stepped = KERNELS[name](np.array(z + 1e-20j))
        assert _relative(KERNELS[name](np.array(z)), exact) <= 8 * eps, z
        assert _relative(np.real(stepped), exact) <= 8 * eps, z
        if abs(slope) > 1e-300:
            assert _relative(np.imag(stepped) / 1e-20, slope) <= 8 * eps, z


def test_complex_log1p_keeps_its_relative_accuracy():
    for w in (3e-4 + 1e-25j, 1e-10 + 1e-30j, 2.0 + 0.1j, 0.5 - 0.3j):
        exact = mpmath.log1p(mpmath.mpc(w.real, w.imag))
        got = log1p(np.array(w))
        assert abs(complex(got) - complex(exact)) <= 4 * np.finfo(float).eps * abs(complex(exact))


SPECIAL = np.array([0.0, -0.0, 1e-320, -1e-320, 1e-8, -1e-8, 0.5, -0.5, 30.0, -30.0, 700.0, -700.0, 745.0,
                    -745.0, 800.0, -800.0, np.inf, -np.inf, np.nan])


def _sigmoid_by_the_general_branch(z):
    """The real branch of kernels.sigmoid as it was (np.empty(shape), then in place)."""
    e = np.empty(np.shape(z))
    np.abs(z, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    r = np.add(e, 1.0, out=np.empty_like(e))
    np.reciprocal(r, out=r)
    np.multiply(e, r, out=e)
    np.copyto(e, r, where=z >= 0)
    return e


def test_sigmoid_into_gives_the_general_formulas_numbers_also_in_place():
    z = np.concatenate([SPECIAL, np.linspace(-60, 60, 2001), np.random.default_rng(0).standard_normal(500) * 40])
    expected = _sigmoid_by_the_general_branch(z)
    assert np.array_equal(kernels.sigmoid(z), expected, equal_nan=True)
    columns = np.repeat(z[:, None], 2, axis=1)[::3, ::2]  # a strided (n, 1) view
    assert np.array_equal(kernels.sigmoid(columns), expected[::3, None], equal_nan=True)
    in_place = z.copy()
    assert kernels.sigmoid_into(in_place, in_place) is in_place
    assert np.array_equal(in_place, expected, equal_nan=True)
    with np.errstate(over="ignore", invalid="ignore"):  # the negative control: e/(1 + e), one rounding fewer
        wrong = np.where(z < 0, np.exp(z) / (1 + np.exp(z)), 1 / (1 + np.exp(-z)))
    assert not np.array_equal(wrong, expected, equal_nan=True)
