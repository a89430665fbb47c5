"""A torch.autograd.Function (needs torch; the check calls your backward through torch's apply)."""
import numpy as np
import torch

import gradproof


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return (x ** 3) @ w

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        return 3 * x ** 2 * (grad_out @ w.T), (x ** 3).T @ grad_out


rng = np.random.default_rng(3)
result = gradproof.check_layer(Cube, None, (rng.standard_normal((3, 4)), rng.standard_normal((4, 2))))
print(result.report())
assert result.ok
