"""The same layers with two classic hand-derivation mistakes."""
import numpy as np

from my_layers import affine_forward, softmax_loss  # noqa: F401 (the forward and the loss are right)


def affine_backward(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.mean(axis=0)              # BUG: b is added to every row, its gradient is a sum
    return dx, dw, db


def batchnorm_forward(x, gamma, beta, bn_param):
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + bn_param.get("eps", 1e-5))
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + bn_param.get("eps", 1e-5)))


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    n = dout.shape[0]
    dxhat = dout                         # BUG: dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * std)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
