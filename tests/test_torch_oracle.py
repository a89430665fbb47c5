"""An independent oracle: PyTorch's autograd. Skipped where torch is not installed (CI installs it)."""

import numpy as np
import pytest
from hypothesis import given

from gradproof.derive.model.network import Network
from gradproof.numeric.differences.error_model import error_model
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.samples import random_sample
from gradproof.numeric.strategies.networks import architectures, networks

torch = pytest.importorskip("torch")

ACTIVATIONS = {
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z,
    "softplus": lambda z: torch.logaddexp(torch.zeros_like(z), z), "softmax": lambda z: torch.softmax(z, dim=0),
}


def torch_gradient(sample, reduction="mean"):
    network = sample.network
    wbar = [torch.tensor(w, requires_grad=True) for w in sample.wbar]
    x, y = (torch.tensor(c) for c in sample.columns())
    values = x
    for w, act in zip(wbar, network.activation_names):
        xbar = torch.cat([torch.ones(1, values.shape[1], dtype=torch.float64), values]) if network.bias else values
        z = w @ xbar
        values = ACTIVATIONS[act](z)
    loss = network.loss.name
    if loss == "half-sse":
        per_sample = 0.5 * ((values - y) ** 2).sum(0)
    elif loss == "mse":
        per_sample = ((values - y) ** 2).mean(0)
    elif loss == "bce":
        per_sample = -(y * torch.nn.functional.logsigmoid(z) + (1 - y) * torch.nn.functional.logsigmoid(-z)).sum(0)
    else:
        per_sample = -(y * torch.log_softmax(z, dim=0)).sum(0)
    (per_sample.mean() if reduction == "mean" else per_sample.sum()).backward()
    return [w.grad.numpy() for w in wbar]


@pytest.mark.parametrize("layers, activation, loss", [
    ("2,3,3,2", "sigmoid", "half-sse"), ("4,8,3", "tanh", "softmax-ce"), ("5,6,6,2", "relu", "bce"),
    ("3,7,4", "softplus", "mse"), ("64,128,128,10", "sigmoid", "half-sse")])
@pytest.mark.parametrize("batch", [None, 8])
def test_psi_equals_torch_autograd_to_1e_12(layers, activation, loss, batch):
    sample = random_sample(Network.from_spec(layers, activation, loss), seed=11, batch=batch)
    ours = psi_gradient(sample.network, sample.wbar, *sample.columns())
    theirs = torch_gradient(sample)
    for a, b in zip(ours, theirs):
        assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(b))


@given(networks(architecture=architectures(max_depth=4, max_width=5), weight_bound=4.0, max_batch=3))
def test_psi_equals_torch_autograd_within_the_rounding_bound(sample):
    x, y = sample.columns()
    ours = psi_gradient(sample.network, sample.wbar, x, y)
    bounds = error_model(sample.network, sample.wbar, x, y).analytic_rounding("mean")
    for a, b, bound in zip(ours, torch_gradient(sample), bounds):
        assert np.all(np.abs(a - b) <= 2 * bound)
