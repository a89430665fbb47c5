"""A convolutional network's backward pass written by hand, as the README's "Check your own backward pass"
describes it for convolutions.

The network: a 1×8×8 input, a convolution with 4 filters 3×3 at stride 2 and padding 1, one with 4 filters
3×3 at stride 1 and padding 1, a dense layer of 10 and an output of 3; tanh everywhere, E = ½·Σ(a − y)².
Check it with

    gradproof check --layers 1x8x8,conv4k3s2p1,conv4k3s1p1,10,3 --activation tanh --backward examples/my_conv_grad.py:backward

The contract for a convolution: W̄[l] is (O, 1 + C·k·k) with the bias column first, and
``wbar[l][:, 1:].reshape(O, C, k, k)`` is the kernel in torch's layout; x is the 1×8×8 input flattened in
(C, H, W) order, and a dense layer after a convolution reads the maps flattened the same way.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

INPUT = (1, 8, 8)
CONVS = ((3, 2, 1), (3, 1, 1))   # (kernel, stride, padding) of each convolution


def _patches(maps, k, s, p):
    """(C, H, W) → (positions, C·k·k), and the padded input's shape."""
    padded = np.pad(maps, ((0, 0), (p, p), (p, p)))
    windows = sliding_window_view(padded, (k, k), axis=(1, 2))[:, ::s, ::s]   # (C, Ho, Wo, k, k)
    c, ho, wo = windows.shape[:3]
    return windows.transpose(1, 2, 0, 3, 4).reshape(ho * wo, -1), (ho, wo), padded.shape


def _scatter(dpatches, k, s, p, padded_shape, out_hw):
    """The adjoint of _patches: every patch entry's gradient added back where it was read from."""
    grad = np.zeros(padded_shape)
    ho, wo = out_hw
    rows = dpatches.reshape(ho, wo, padded_shape[0], k, k)
    for i in range(ho):
        for j in range(wo):
            grad[:, i * s:i * s + k, j * s:j * s + k] += rows[i, j]
    return grad[:, p:padded_shape[1] - p, p:padded_shape[2] - p]


def backward(wbar, x, y):
    """∂E/∂W̄[l] for one sample, by the chain rule through the convolutions."""
    maps, saved = x.reshape(INPUT), []
    for w, (k, s, p) in zip(wbar, CONVS):
        rows, hw, padded = _patches(maps, k, s, p)
        z = rows @ w[:, 1:].T + w[:, 0]                      # (positions, O)
        saved.append((rows, hw, padded, z))
        maps = np.tanh(z).T.reshape(w.shape[0], *hw)
    values, dense = maps.reshape(-1), []
    for w in wbar[len(CONVS):]:
        xbar = np.concatenate([[1.0], values])
        dense.append((xbar, w @ xbar))
        values = np.tanh(dense[-1][1])
    psi = (values - y) * (1 - values ** 2)
    grads = [None] * len(wbar)
    for layer in range(len(wbar) - 1, len(CONVS) - 1, -1):
        xbar, _ = dense[layer - len(CONVS)]
        grads[layer] = np.outer(psi, xbar)
        back = wbar[layer][:, 1:].T @ psi
        below = dense[layer - len(CONVS) - 1][1] if layer > len(CONVS) else saved[-1][3].T.reshape(-1)
        psi = back * (1 - np.tanh(below) ** 2)
    psi = psi.reshape(wbar[len(CONVS) - 1].shape[0], -1).T    # (positions, O)
    for layer in range(len(CONVS) - 1, -1, -1):
        rows, hw, padded, _ = saved[layer]
        grads[layer] = np.concatenate([psi.sum(axis=0)[:, None], psi.T @ rows], axis=1)
        if layer:
            k, s, p = CONVS[layer]
            dmaps = _scatter(psi @ wbar[layer][:, 1:], k, s, p, padded, hw)      # (C, H, W)
            below = saved[layer - 1][3]                                        # (positions, C)
            psi = dmaps.reshape(dmaps.shape[0], -1).T * (1 - np.tanh(below) ** 2)
    return grads
