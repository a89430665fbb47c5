"""A backward pass written by hand, as the README's "Check your own backward pass" describes it.

The network: tanh hidden layers, a softmax output and the cross-entropy E = −Σₖ yₖ·log aₖ, biases first.
Check it with

    gradproof check --layers 4,8,3 --activation tanh --loss softmax-ce --backward examples/my_grad.py:backward
"""

import numpy as np


def backward(wbar, x, y):
    """∂E/∂W̄[l] for one sample: the Ψ recurrence, with Ψ at the softmax output collapsing to a − y."""
    xbars, zs = [], []
    values = x
    for w in wbar:
        xbars.append(np.concatenate([[1.0], values]))
        zs.append(w @ xbars[-1])
        values = np.tanh(zs[-1])
    e = np.exp(zs[-1] - zs[-1].max())
    psi = e / e.sum() - y
    grads = [None] * len(wbar)
    for layer in range(len(wbar) - 1, -1, -1):
        grads[layer] = np.outer(psi, xbars[layer])
        if layer:
            psi = (wbar[layer][:, 1:].T @ psi) * (1 - np.tanh(zs[layer - 1]) ** 2)
    return grads
