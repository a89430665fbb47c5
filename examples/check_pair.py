"""A forward/backward pair, and a pair with two outputs (an LSTM-like step)."""
import numpy as np

import gradproof
from my_layers import affine_backward, affine_forward

rng = np.random.default_rng(0)
x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
result = gradproof.check_layer(affine_forward, affine_backward, (x, w, b))
print(result.report())
assert result.ok and result.status == "agree"


def step_forward(x, c):                 # two outputs, then the cache
    h, c_next = np.tanh(x) * c, c * 2
    return h, c_next, (x, c)


def step_backward(dh, dc_next, cache):  # one upstream gradient per output
    x, c = cache
    return dh * (1 - np.tanh(x) ** 2) * c, dh * np.tanh(x) + 2 * dc_next


print(gradproof.check_layer(step_forward, step_backward, (x, rng.standard_normal(x.shape))).report())
