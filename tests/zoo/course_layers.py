"""layers.py -- assignment 2, as handed in.

A student's module in the course convention, with the usual state of a hand-in: several layers done and
right, some unfinished, some broken in ways that show only when called. It imports without error.
What each function does wrong is listed in cases.COURSE (the student's comments do not say).
"""
from builtins import range

import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = x * (x > 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = np.where(x > 0, dout, 0.0)
    return dx


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def sigmoid_forward(x):
    out = 1.0 / (1.0 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, cache):
    out = cache
    return dout * out * (1.0 - out)


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    # TODO: Implement the tanh backward pass.
    pass


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        dx = dout * mask
    else:
        dx = dout


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    out = gamma * xhat + beta
    return out, (x, xhat, mu, var, eps, gamma)


def batchnorm_backward(dout, cache):
    raise NotImplementedError("batchnorm_backward")


def avg_pool_forward(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].mean(axis=(2, 3))
    return out, (x, pool_param)


def avg_pool_backward(dout, cache):
    x, pool_param = cache
    dx = np.zeros_like(x)
    # TODO: spread dout over the windows
    return dx


def max_pool_forward(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in xrange(Ho):  # noqa: F821 -- left over from Python 2
        for j in xrange(Wo):  # noqa: F821
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
    return dx


def leaky_relu_forward(x, alpha):
    out = np.maximum(x, alpha * x)
    return out, (x, alpha)


def leaky_relu_backward(dout, cache):
    x, alpha, out = cache
    dx = dout * np.where(out > 0, 1.0, alpha)
    return dx


def elu_forward(x, alpha):
    neg = x < 0
    x[neg] = alpha * (np.exp(x[neg]) - 1)
    out = x
    return out, (out, alpha)


def elu_backward(dout, cache):
    out, alpha = cache
    return dout * np.where(out > 0, 1.0, out + alpha)


def swish_forward(x):
    s = 1.0 / (1.0 + np.exp(-x))
    print("swish_forward", x.shape, "mean activation", np.mean(x * s))
    return x * s, (x, s)


def swish_backward(dout, cache):
    x, s = cache
    print("swish_backward", dout.shape)
    return dout * (s + x * s * (1 - s))


def gaussian_noise_forward(x, noise_param):
    if noise_param["mode"] == "train":
        out = x + noise_param["std"] * np.random.randn(*x.shape)
    else:
        out = x
    return out, None


def gaussian_noise_backward(dout, cache):
    return dout
