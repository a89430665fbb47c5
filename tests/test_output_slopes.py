"""The derivatives the complex step and Ψ read. The output's slopes ∂E/∂zₖ, all n complex steps taken in one call (numeric/differences/complex_step.py),
against one complex step per output unit, written here as the definition reads: the same numbers, bit for
bit, and the same error bounds where slopes underflow."""

import numpy as np
import pytest

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import forward
from gradproof.numeric.differences import complex_step
from gradproof.numeric.differences.truncation import output_sup, radius
from gradproof.numeric.samples import random_sample


def one_unit_at_a_time(network, fwd, y):
    act, loss = network.activations[-1], network.loss
    z = fwd.z[-1]
    flat = complex_step._flat(act, z) if act.name != "softmax" else np.zeros(z.shape, dtype=bool)
    rho = radius(act, z)
    sup = output_sup(network, fwd, y, rho, single=True)
    rows, errors = [], []
    for k in range(z.shape[0]):
        direction = np.zeros(z.shape)
        direction[k] = 1
        slope, error = complex_step._slope(lambda moved: loss.np_error(moved, act.np_forward(moved), y), z,
                                           sup[k], rho[k], direction, flat[k])
        rows.append(slope)
        errors.append(np.zeros(z.shape[1]) if error is None else error)
    errors = np.array(errors)
    return np.array(rows), (errors if np.any(errors) else None)


@pytest.mark.parametrize("activation, loss", [("sigmoid", "half-sse"), ("tanh", "mse"), ("sigmoid", "bce"),
                                              ("relu", "softmax-ce"), ("identity", "mse"), ("tanh,softmax", "mse"),
                                              ("softplus", "half-sse")])
@pytest.mark.parametrize("scale", [1.0, 400.0])  # 400: outputs far in the tails, where slopes underflow
def test_all_units_at_once_equal_one_unit_at_a_time(activation, loss, scale):
    network = Network.from_spec("3,4,5", activation, loss)
    sample = random_sample(network, seed=7, batch=3)
    wbar = [w * scale for w in sample.wbar]
    x, y = sample.columns()
    with np.errstate(all="ignore"):
        fwd = forward(network, wbar, x, y)
        slopes, errors = complex_step.output_slopes(network, fwd, y)
        expected, expected_errors = one_unit_at_a_time(network, fwd, y)
    np.testing.assert_array_equal(slopes, expected)
    assert (errors is None) == (expected_errors is None)
    if errors is not None:
        np.testing.assert_array_equal(errors, expected_errors)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_the_derivative_read_off_the_output_is_the_rule_at_z_bit_for_bit(name):
    """Ψ's step reads a'(z) off a = a(z) where the rule has that form (σ·(1 − σ), 1 − tanh²): the same
    numbers as the rule at z, in the tails too, and complex z keeps the rule at z."""
    from gradproof.derive.model.activations import ACTIVATIONS
    act = ACTIVATIONS[name]
    z = np.concatenate([np.linspace(-800, 800, 4001), np.random.default_rng(0).normal(0, 5, 1000)])
    g = np.random.default_rng(1).normal(size=z.shape)
    np.testing.assert_array_equal(act.np_vjp(z, act.np_forward(z), g), g * act.np_derivative(z))
    zc = z[:50] + 1e-20j
    np.testing.assert_array_equal(act.np_vjp(zc, act.np_forward(zc), g[:50]), g[:50] * act.np_derivative(zc))
