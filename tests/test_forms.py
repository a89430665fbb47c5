"""The three analytic forms agree: matrix Ψ, compiled Ψ per weight, compiled sympy.diff per weight."""

import numpy as np
import pytest
from hypothesis import given

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.lambdified import CompiledGradient
from gradproof.numeric.differences.error_model import error_model
from gradproof.numeric.compiled.matrix import error, forward, psi_gradient
from gradproof.numeric.samples import random_sample
from gradproof.numeric.strategies.networks import architectures, networks


def _agree(first, second, bounds):
    return all(np.all(np.abs(a - b) <= 2 * t) for a, b, t in zip(first, second, bounds))


@given(networks(architecture=architectures(max_depth=3, max_width=3,
                                           losses=["half-sse", "mse", "bce", "softmax-ce"]), max_batch=3))
@pytest.mark.deferred
def test_matrix_form_equals_both_compiled_forms(sample):
    x, y = sample.columns()
    network = sample.network
    matrix = psi_gradient(network, sample.wbar, x, y)
    bounds = error_model(network, sample.wbar, x, y).analytic_rounding("mean")
    for form in ("psi", "direct"):
        compiled_form = CompiledGradient(network, form, limit=None)
        assert _agree(matrix, compiled_form(sample.wbar, x, y), bounds)


def test_batch_mean_and_sum_are_the_per_sample_gradients_averaged_and_added():
    network = Network.from_spec("3,4,2", "tanh", "softmax-ce")
    sample = random_sample(network, seed=3, batch=5)
    x, y = sample.columns()
    singles = [psi_gradient(network, sample.wbar, x[:, [b]], y[:, [b]]) for b in range(5)]
    for reduction, combine in (("mean", np.mean), ("sum", np.sum)):
        batch = psi_gradient(network, sample.wbar, x, y, reduction)
        for layer in range(network.depth):
            expected = combine([s[layer] for s in singles], axis=0)
            np.testing.assert_allclose(batch[layer], expected, rtol=1e-13, atol=1e-16)
    errors = forward(network, sample.wbar, x, y).errors
    assert error(network, sample.wbar, x, y, "sum") == pytest.approx(errors.sum(), rel=1e-15)
    assert error(network, sample.wbar, x, y, "mean") == pytest.approx(errors.mean(), rel=1e-15)


def test_half_sse_by_hand_for_one_neuron():
    # E = ½(σ(w0 + w1·x) − y)², ∂E/∂w = (a − y)·a·(1 − a)·[1, x]
    network = Network.from_spec("1,1")
    w, x, y = np.array([[0.3, -0.7]]), np.array([[0.4]]), np.array([[0.9]])
    a = 1 / (1 + np.exp(-(0.3 - 0.7 * 0.4)))
    expected = (a - 0.9) * a * (1 - a) * np.array([[1.0, 0.4]])
    np.testing.assert_allclose(psi_gradient(network, [w], x, y)[0], expected, rtol=1e-15)


def test_compiled_source_is_shown_and_limits_are_enforced():
    network = Network.from_spec("2,2,1")
    source = CompiledGradient(network, "psi").source
    assert source.startswith("def _lambdifygenerated(") and "sigmoid" in source
    with pytest.raises(InputError, match="is too large for the per-weight direct form"):
        CompiledGradient(Network.from_spec("30,20,10"), "direct")
    with pytest.raises(InputError, match="form must be one of direct, psi"):
        CompiledGradient(network, "other")
    with pytest.raises(InputError, match="no numeric form"):
        CompiledGradient(Network.from_spec("2,1", "generic"), "psi")


def test_unknown_reduction_is_bad_input():
    sample = random_sample(Network.from_spec("2,1"))
    with pytest.raises(InputError, match="reduction must be one of mean, sum"):
        psi_gradient(sample.network, sample.wbar, *sample.columns(), reduction="median")
