"""The public hypothesis strategies: bounds are validated up front and respected by every draw."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument

from gradproof.derive.model.network import Network
from gradproof.numeric.strategies.networks import ALL_ACTIVATIONS, architectures, networks


@given(architectures(min_depth=2, max_depth=3, min_width=2, max_width=3, losses=["mse", "bce"], bias=False,
                     activations=["tanh", "relu"]))
def test_architectures_respect_their_bounds(network):
    assert 2 <= network.depth <= 3 and all(2 <= n <= 3 for n in network.sizes)
    assert network.loss.name in ("mse", "bce") and not network.bias
    hidden = network.activation_names[:-1]
    assert set(hidden) <= {"tanh", "relu"}
    assert network.activation_names[-1] == ("sigmoid" if network.loss.name == "bce" else network.activation_names[-1])


@given(architectures(activations=ALL_ACTIVATIONS, mixed_activations=False, losses=["half-sse"]))
def test_one_activation_for_all_layers(network):
    assert len(set(network.activation_names)) == 1


@given(networks(architecture=architectures(activations=["relu"], losses=["softmax-ce", "bce", "half-sse"]),
                weight_bound=3.0, input_bound=0.5, max_batch=4, kink_margin=0.02))
def test_samples_respect_bounds_targets_and_kinks(sample):
    network = sample.network
    assert all(w.dtype == np.float64 and w.shape == s for w, s in zip(sample.wbar, network.shapes))
    # bias weights may be shifted away from ReLU kinks; every other weight stays within the bound
    assert all(np.all(np.abs(w[:, int(network.bias):]) <= 3.0) for w in sample.wbar)
    x, y = sample.columns()
    assert np.all(np.abs(x) <= 0.5) and 1 <= x.shape[1] <= 4
    if network.loss.name == "softmax-ce":
        np.testing.assert_allclose(y.sum(axis=0), 1.0)
        assert np.all(y >= 0)
    if network.loss.name == "bce":
        assert np.all((0 <= y) & (y <= 1))
    values = x
    for layer, act in enumerate(network.activations):
        xbar = np.vstack([np.ones((1, values.shape[1])), values]) if network.bias else values
        z = sample.wbar[layer] @ xbar
        if act.name == "relu":
            assert np.all(np.abs(z) >= 0.02 * (1 - 1e-9))
        values = act.np_forward(z)


@given(networks(architecture=Network.source_text()))
def test_a_fixed_network_and_single_samples(sample):
    assert sample.network == Network.source_text()
    assert sample.x.shape == (2,) and sample.y.shape == (2,) and sample.batch is None


@pytest.mark.parametrize("strategy, message", [
    (lambda: architectures(min_depth=0), "min_depth must be at least 1"),
    (lambda: architectures(min_width=3, max_width=2), "min_width=3 is larger than max_width=2"),
    (lambda: architectures(max_depth=2.5), "max_depth must be a whole number"),
    (lambda: architectures(activations=["swish"]), "activations: unknown name 'swish'"),
    (lambda: architectures(activations=["softmax"]), "activations: unknown name 'softmax'"),
    (lambda: architectures(losses=[]), "losses must name at least one"),
    (lambda: architectures(bias="yes"), "bias must be True, False or None"),
    (lambda: networks(weight_bound=0), "weight_bound must be a positive number"),
    (lambda: networks(max_batch=0), "max_batch must be at least 1"),
    (lambda: networks(kink_margin=2), "kink_margin must be a number in"),
    (lambda: networks(architecture="2,3"), "architecture must be a Network or a strategy"),
])
def test_bad_bounds_fail_before_drawing(strategy, message):
    with pytest.raises(InvalidArgument, match=message):
        strategy()


def test_symbolic_activations_cannot_draw_numbers():
    with pytest.raises(InvalidArgument, match="needs numeric activations"):
        networks(architecture=Network.from_spec("2,1", "generic"))
