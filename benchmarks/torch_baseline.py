"""The PyTorch baseline of the benchmarks (optional: ``torch`` is None where it is not installed): the
source text's kind of network (biases, sigmoid, ½·Σ(a − y)², the batch's mean) written in torch."""

from __future__ import annotations

import time

try:
    import torch
    torch.set_num_threads(1)  # one thread, as gradproof's BLAS (derive/threads.py)
except ImportError:
    torch = None


def torch_weights(sample):
    """W̄ as float64 leaf tensors that track their gradient."""
    return [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in sample.wbar]


def torch_error(sample):
    """E(W̄) for the sample's columns, as a function of the weight tensors."""
    x, y = (torch.tensor(c, dtype=torch.float64) for c in sample.columns())
    ones = torch.ones(1, x.shape[1], dtype=torch.float64)

    def error(*wbar):
        values = x
        for w in wbar:
            values = torch.sigmoid(w @ torch.cat([ones, values]))
        return 0.5 * torch.sum((values - y) ** 2) / x.shape[1]
    return error


def gradcheck_seconds(sample) -> float:
    """The time of ``torch.autograd.gradcheck`` with its defaults on the sample's network."""
    error, weights = torch_error(sample), torch_weights(sample)
    start = time.perf_counter()
    assert torch.autograd.gradcheck(error, tuple(weights))
    return time.perf_counter() - start


def conv_torch_error(sample, weights_dtype=None):
    """E(W̄) for a network with convolutions (F.conv2d with the kernel W̄[:, 1:] and the bias W̄[:, 0]),
    the batch's mean of ½·Σ(a − y)², as a function of the weight tensors."""
    dtype = weights_dtype or torch.float64
    network = sample.network
    x, y = (torch.tensor(c.T, dtype=dtype) for c in sample.columns())
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda z: z}

    def error(*wbar):
        values = x
        for w, layer in zip(wbar, network.layers):
            if layer.kind == "conv":
                maps = values.reshape(values.shape[0], *layer.in_shape)
                z = torch.nn.functional.conv2d(maps, w[:, 1:].reshape(layer.kernel_shape), w[:, 0],
                                               stride=layer.stride, padding=layer.padding)
            else:
                z = values.reshape(values.shape[0], -1) @ w[:, 1:].T + w[:, 0]
            values = acts[layer.activation.name](z)
        return 0.5 * torch.sum((values - y) ** 2) / x.shape[0]
    return error
