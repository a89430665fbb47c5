"""The textbook class style: parameters and their gradients kept as attributes (layer.W, layer.dW)."""
import numpy as np

import gradproof


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


rng = np.random.default_rng(2)
layer = Affine(rng.standard_normal((4, 3)), rng.standard_normal(3))
result = gradproof.check_layer(layer, None, (rng.standard_normal((5, 4)),))   # dx, dW and db
print(result.report())
assert result.ok
