"""A correct backward pass for sigmoid / half-sse networks that computes in float32, as GPU code does: it is
held to float32's error bound, with one warning line (tests/test_trust_numeric.py)."""

import numpy as np


def backward(wbar, x, y):
    wbar = [w.astype(np.float32) for w in wbar]
    xs = [np.concatenate([[1.0], x]).astype(np.float32)]
    for w in wbar:
        xs.append(np.concatenate([[1.0], 1 / (1 + np.exp(-(w @ xs[-1])))]).astype(np.float32))
    a = xs[-1][1:]
    psi = (a - y.astype(np.float32)) * a * (1 - a)
    grads = [None] * len(wbar)
    for layer in range(len(wbar) - 1, -1, -1):
        grads[layer] = np.outer(psi, xs[layer])
        if layer:
            s = xs[layer][1:]
            psi = (wbar[layer][:, 1:].T @ psi) * s * (1 - s)
    return grads
