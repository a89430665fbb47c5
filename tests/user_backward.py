"""A backward pass as a user would write it, independent of gradproof's own numeric code: the test suite
checks it (it must pass) and breaks it in the ways people do (it must fail, with the right message)."""

import numpy as np

ACTIVATIONS = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda a, z: a * (1 - a)),
    "tanh": (np.tanh, lambda a, z: 1 - a ** 2),
    "identity": (lambda z: z, lambda a, z: np.ones_like(z)),
    "softplus": (lambda z: np.logaddexp(0, z), lambda a, z: 1 / (1 + np.exp(-z))),
    "relu": (lambda z: np.maximum(z, 0), lambda a, z: (z > 0).astype(float)),
}


def make_backward(hidden="tanh", output="sigmoid", loss="half-sse", bias=True):
    """backward(wbar, x, y) for any sizes, with these activations and loss (softmax output: softmax-ce)."""
    act, dact = ACTIVATIONS[hidden]

    def backward(wbar, x, y):
        inputs, zs = [], []
        values = x
        for layer, w in enumerate(wbar):
            inputs.append(np.concatenate([[1.0], values]) if bias else values)
            zs.append(w @ inputs[-1])
            last = layer == len(wbar) - 1
            if last and output == "softmax":
                e = np.exp(zs[-1] - zs[-1].max())
                values = e / e.sum()
            else:
                values = (ACTIVATIONS[output][0] if last else act)(zs[-1])
        a = values
        if output == "softmax" or loss == "bce":
            psi = a - y
        else:
            grad = a - y if loss == "half-sse" else 2 * (a - y) / len(a)
            psi = grad * ACTIVATIONS[output][1](a, zs[-1])
        grads = [None] * len(wbar)
        for layer in range(len(wbar) - 1, -1, -1):
            grads[layer] = np.outer(psi, inputs[layer])
            if layer:
                back = wbar[layer][:, 1:].T @ psi if bias else wbar[layer].T @ psi
                below = inputs[layer][1:] if bias else inputs[layer]
                psi = back * dact(below, zs[layer - 1])
        return grads

    return backward


backward = make_backward()


def batched_backward(wbar, x, y):
    """The same network for a batch: x (B, n0), y (B, nL); the gradient of the batch's mean error."""
    grads = [backward(wbar, xb, yb) for xb, yb in zip(x, y)]
    return [np.mean(g, axis=0) for g in zip(*grads)]
