"""The convolutional Ψ gradient against an independent oracle, PyTorch's autograd (float64), on random
convolutional networks with strides, paddings, batches, every elementwise activation and every loss; and
the forward-mode complex step against it too. Skipped where torch is not installed (CI installs it)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.derive.model.network import Network
from gradproof.numeric.checks.conv_check import complex_step_gradient
from gradproof.numeric.checks.conv_mistakes import CONV_MISTAKES
from gradproof.numeric.compiled.conv import conv_psi_gradient
from gradproof.numeric.samples import random_sample

torch = pytest.importorskip("torch")
F = torch.nn.functional

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z,
               "softplus": F.softplus, "softmax": lambda z: torch.softmax(z, dim=1)}


def torch_gradient(sample, reduction="mean"):
    """∂E/∂W̄[l] by torch: F.conv2d with the kernel W̄[:, 1:] reshaped to (O, C, k, k) and the bias W̄[:, 0]."""
    network = sample.network
    wbar = [torch.tensor(w, requires_grad=True) for w in sample.wbar]
    x, y = (torch.tensor(c.T) for c in sample.columns())
    values = x
    for w, layer in zip(wbar, network.layers):
        bias, weights = (w[:, 0], w[:, 1:]) if network.bias else (None, w)
        if layer.kind == "conv":
            maps = values.reshape(values.shape[0], *layer.in_shape)
            z = F.conv2d(maps, weights.reshape(layer.kernel_shape), bias, stride=layer.stride, padding=layer.padding)
        else:
            z = values.reshape(values.shape[0], -1) @ weights.T + (0 if bias is None else bias)
        values = ACTIVATIONS[layer.activation.name](z)
    loss = network.loss.name
    if loss == "half-sse":
        per_sample = 0.5 * ((values - y) ** 2).sum(1)
    elif loss == "mse":
        per_sample = ((values - y) ** 2).mean(1)
    elif loss == "bce":
        per_sample = -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).sum(1)
    else:
        per_sample = -(y * torch.log_softmax(z, dim=1)).sum(1)
    (per_sample.mean() if reduction == "mean" else per_sample.sum()).backward()
    return [w.grad.numpy() for w in wbar]


def relative(ours, theirs) -> float:
    """‖ours − theirs‖ / ‖theirs‖ over all the weights."""
    diff = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(ours, theirs)))
    return diff / np.sqrt(sum(float(np.sum(b ** 2)) for b in theirs))


CASES = [
    ("1x8x8,conv4k3s2p1,conv4k3s1p1,10,3", "tanh", "half-sse", 1, True),
    ("2x9x7,conv3k3s2p2,conv5k2s1p0,6,2", "sigmoid", "mse", 3, True),
    ("3x10x10,conv4k4s3p1,conv4k2s1p1,conv2k2s2,5,4", "relu,softplus,tanh,relu,identity", "half-sse", 2, True),
    ("1x6x6,conv2k3s1p1,conv3k2s2,4", "tanh", "softmax-ce", 2, True),
    ("2x5x5,conv3k2s2p1,3", "softplus", "bce", 1, False),
    ("1x7x7,conv2k3s2,conv2k2s1p1,3", "identity", "half-sse", 4, True),
]


@pytest.mark.parametrize("spec, activation, loss, batch, bias", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_conv_psi_agrees_with_torch(spec, activation, loss, batch, bias, reduction):
    network = Network.from_spec(spec, activation, loss, bias=bias)
    sample = random_sample(network, seed=len(spec) + batch, batch=batch)
    x, y = sample.columns()
    ours = conv_psi_gradient(network, sample.wbar, x, y, reduction)
    assert relative(ours, torch_gradient(sample, reduction)) < 1e-12


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_conv_psi_agrees_with_torch_on_drawn_networks(data):
    channels, size = data.draw(st.integers(1, 3)), data.draw(st.integers(4, 9))
    layers, shape = [f"{channels}x{size}x{size}"], size
    for _ in range(data.draw(st.integers(1, 3))):
        k = data.draw(st.integers(1, min(4, shape + 1)))
        p = data.draw(st.integers(0, 2 if k > 2 else 0))
        s = data.draw(st.integers(1, 3))
        if shape + 2 * p < k:
            break
        layers.append(f"conv{data.draw(st.integers(1, 4))}k{k}s{s}p{p}")
        shape = (shape + 2 * p - k) // s + 1
    layers += [str(data.draw(st.integers(1, 5))), str(data.draw(st.integers(1, 4)))]
    network = Network.from_spec(",".join(layers), data.draw(st.sampled_from(["tanh", "sigmoid", "softplus"])))
    sample = random_sample(network, seed=data.draw(st.integers(0, 1000)), batch=data.draw(st.integers(1, 3)))
    x, y = sample.columns()
    assert relative(conv_psi_gradient(network, sample.wbar, x, y), torch_gradient(sample)) < 1e-12


def test_the_forward_mode_complex_step_agrees_with_torch_on_the_atari_network():
    sample = random_sample(Network.atari(), seed=0)
    assert relative(complex_step_gradient(sample), torch_gradient(sample)) < 1e-12


@pytest.mark.parametrize("name", ["stride-ignored", "kernel-not-flipped", "padding-not-trimmed", "not-transposed",
                                  "missing-a-prime"])
def test_the_oracle_sees_every_planted_mistake(name):
    """The comparison above could fail: each planted mistake is far from torch's gradient."""
    network = Network.from_spec("2x9x9,conv3k3s2p1,conv3k3s2p1,conv3k2s1p1,4,2", "tanh")
    sample = random_sample(network, seed=4)
    x, y = sample.columns()
    wrong = CONV_MISTAKES[name].recurrence.gradient(network, sample.wbar, x, y)
    assert relative(wrong, torch_gradient(sample)) > 1e-3
