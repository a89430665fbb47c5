"""The output's slopes ∂E/∂zₖ, all n complex steps taken in one call (numeric/differences/complex_step.py),
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
