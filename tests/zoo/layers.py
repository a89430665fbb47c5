"""Correct layers in the common course convention, pure numpy, float64, any batch size N >= 1.

    out, cache = NAME_forward(*args)          grads = NAME_backward(dout, cache)
    out1, out2, cache = NAME_forward(*args)   grads = NAME_backward(dout1, dout2, cache)
    loss, dx = NAME_loss(x, y)

Float arrays are the differentiable inputs; integer arrays, boolean masks, option dicts and scalars pass
through. A backward returns one gradient per differentiable input, in argument order: a bare array when
there is one, a tuple otherwise. A loss returns the gradient with respect to its first argument only.
"""

import numpy as np


def _sigmoid(x):
    """The logistic function, without overflow warnings for large |x|."""
    return np.exp(-np.logaddexp(0.0, -x))


def _log_softmax(x):
    """log softmax over the last axis."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _normalization_dx(dxhat, xhat, std, axis):
    """dx for xhat = (x - mean) / std, where mean and the (biased) variance are taken over `axis`."""
    m = np.prod([xhat.shape[a] for a in np.atleast_1d(axis)])
    total = dxhat.sum(axis=axis, keepdims=True)
    projected = (dxhat * xhat).sum(axis=axis, keepdims=True)
    return (m * dxhat - total - xhat * projected) / (m * std)


def _out_size(size, kernel, stride, pad):
    """Output length of a window sliding over size + 2 * pad; the geometry must fit exactly."""
    steps, rest = divmod(size + 2 * pad - kernel, stride)
    if rest or steps < 0:
        raise ValueError(f"a window of {kernel} with stride {stride} does not tile {size} padded by {pad}")
    return steps + 1


def _pad(x, pad):
    """Zero-pad the two spatial axes of x (N, C, H, W)."""
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


# ----------------------------------------------------------------------------- affine and activations

def affine_forward(x, w, b):
    """x (N, d1, ..., dk) flattened to (N, D); w (D, M); b (M,) -> out (N, M)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout, cache):
    """-> dx (shaped like x), dw, db."""
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    x = cache
    return dout * (x > 0)


def leaky_relu_forward(x, alpha):
    """max(x, alpha * x) for 0 <= alpha < 1; alpha is a scalar, not differentiated."""
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, 1.0, alpha)


def sigmoid_forward(x):
    out = _sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x):
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    t = cache
    return dout * (1 - t ** 2)


def swish_forward(x):
    """Swish / SiLU: x * sigmoid(x)."""
    s = _sigmoid(x)
    return x * s, (x, s)


def swish_backward(dout, cache):
    x, s = cache
    return dout * (s + x * s * (1 - s))


def linear_sum_forward(x, y):
    """x + y for two float arrays of the same shape: two differentiable inputs."""
    return x + y, None


def linear_sum_backward(dout, cache):
    return dout.copy(), dout.copy()


# ----------------------------------------------------------------------------- normalisation, dropout

def batchnorm_forward(x, gamma, beta, bn_param):
    """x (N, D); gamma, beta (D,). bn_param: mode ('train' or 'test'), eps, momentum, running_mean,
    running_var; train mode normalises by the batch statistics and updates the running ones in bn_param."""
    mode = bn_param.get("mode", "train")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1]))
    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        mean, var = running_mean, running_var
    else:
        raise ValueError(f"unknown batchnorm mode {mode!r}")
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, gamma, std, mode)


def batchnorm_backward(dout, cache):
    """-> dx, dgamma, dbeta. In test mode the statistics are constants."""
    xhat, gamma, std, mode = cache
    dxhat = dout * gamma
    dx = dxhat / std if mode == "test" else _normalization_dx(dxhat, xhat, std, axis=0)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(x, gamma, beta, ln_param):
    """x (N, D) normalised per sample over D; gamma, beta (D,); ln_param: eps."""
    eps = ln_param.get("eps", 1e-5)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache
    dx = _normalization_dx(dout * gamma, xhat, std, axis=1)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x, dropout_param):
    """Inverted dropout; dropout_param: p (probability of KEEPING a unit), mode ('train' or 'test'), seed.
    With a seed the mask is reproducible; without one every call draws a new mask (not deterministic)."""
    if dropout_param.get("mode", "train") == "test":
        return x.copy(), None
    p = dropout_param["p"]
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask


def dropout_backward(dout, cache):
    mask = cache
    return dout.copy() if mask is None else dout * mask


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """x (N, C, H, W); gamma, beta (C,) or (1, C, 1, 1): batchnorm per channel over N, H and W.
    The gradients come back in the shapes gamma and beta were given in."""
    N, C, H, W = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out, bn_cache = batchnorm_forward(flat, gamma.reshape(C), beta.reshape(C), bn_param)
    out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, (bn_cache, gamma.shape, beta.shape)


def spatial_batchnorm_backward(dout, cache):
    bn_cache, gamma_shape, beta_shape = cache
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), bn_cache)
    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma.reshape(gamma_shape), dbeta.reshape(beta_shape)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """x (N, C, H, W), C divisible by the int G: per sample, normalise each group of C/G channels;
    gamma, beta (1, C, 1, 1) or (C,); gn_param: eps. Gradients come back in gamma's and beta's shapes."""
    N, C, H, W = x.shape
    groups = x.reshape(N, G, -1)
    std = np.sqrt(groups.var(axis=2, keepdims=True) + gn_param.get("eps", 1e-5))
    xhat = ((groups - groups.mean(axis=2, keepdims=True)) / std).reshape(x.shape)
    g = gamma.reshape(1, C, 1, 1)
    out = g * xhat + beta.reshape(1, C, 1, 1)
    return out, (xhat, g, std, G, gamma.shape, beta.shape)


def spatial_groupnorm_backward(dout, cache):
    xhat, g, std, G, gamma_shape, beta_shape = cache
    N = dout.shape[0]
    dxhat = (dout * g).reshape(N, G, -1)
    dx = _normalization_dx(dxhat, xhat.reshape(N, G, -1), std, axis=2).reshape(dout.shape)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(gamma_shape)
    return dx, dgamma, dout.sum(axis=(0, 2, 3)).reshape(beta_shape)


# ----------------------------------------------------------------------------- convolution and pooling

def conv_forward_naive(x, w, b, conv_param):
    """x (N, C, H, W), w (F, C, HH, WW), b (F,); conv_param: stride, pad (zeros). Cross-correlation,
    as in every course: out[n, f, i, j] = sum(window(i, j) * w[f]) + b[f]."""
    s, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    Ho, Wo = _out_size(x.shape[2], HH, s, pad), _out_size(x.shape[3], WW, s, pad)
    xp = _pad(x, pad)
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for n, f, i, j in np.ndindex(out.shape):
        window = xp[n, :, i * s:i * s + HH, j * s:j * s + WW]
        out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, conv_param)


def conv_backward_naive(dout, cache):
    """-> dx, dw, db by scattering every output's gradient back over its window."""
    x, w, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    xp = _pad(x, pad)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n, f, i, j in np.ndindex(dout.shape):
        rows, cols = slice(i * s, i * s + HH), slice(j * s, j * s + WW)
        dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
        dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _im2col(xp, HH, WW, stride):
    """Rows are output positions (n, i, j), columns are window entries (c, di, dj)."""
    windows = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * HH * WW)


def _col2im(dcols, x_shape, HH, WW, stride, pad, Ho, Wo):
    """Adjoint of _im2col: add every column entry back onto the pixel it was read from, then unpad."""
    N, C, H, W = x_shape
    d = dcols.reshape(N, Ho, Wo, C, HH, WW)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for a, c in np.ndindex(HH, WW):
        dxp[:, :, a:a + stride * Ho:stride, c:c + stride * Wo:stride] += d[:, :, :, :, a, c].transpose(0, 3, 1, 2)
    return dxp[:, :, pad:pad + H, pad:pad + W]


def conv_forward_im2col(x, w, b, conv_param):
    """Same contract as conv_forward_naive, vectorised as one matrix product over im2col columns."""
    s, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    Ho, Wo = _out_size(x.shape[2], HH, s, pad), _out_size(x.shape[3], WW, s, pad)
    cols = _im2col(_pad(x, pad), HH, WW, s)
    out = (cols @ w.reshape(F, -1).T + b).reshape(x.shape[0], Ho, Wo, F).transpose(0, 3, 1, 2)
    return out, (x, w, cols, conv_param)


def conv_backward_im2col(dout, cache):
    x, w, cols, conv_param = cache
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, F)
    dw = (d.T @ cols).reshape(w.shape)
    dx = _col2im(d @ w.reshape(F, -1), x.shape, HH, WW, conv_param["stride"], conv_param["pad"], Ho, Wo)
    return dx, dw, d.sum(axis=0)


def _pool_geometry(shape, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return ph, pw, s, _out_size(shape[2], ph, s, 0), _out_size(shape[3], pw, s, 0)


def max_pool_forward(x, pool_param):
    """x (N, C, H, W); pool_param: pool_height, pool_width, stride (windows may overlap)."""
    ph, pw, s, Ho, Wo = _pool_geometry(x.shape, pool_param)
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i, j in np.ndindex(Ho, Wo):
        out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward(dout, cache):
    """Each window's gradient goes to its first maximum in row-major order (as np.argmax and torch do)."""
    x, pool_param = cache
    ph, pw, s, _, _ = _pool_geometry(x.shape, pool_param)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        a, b = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
    return dx


def avg_pool_forward(x, pool_param):
    """x (N, C, H, W); same pool_param as max_pool_forward."""
    ph, pw, s, Ho, Wo = _pool_geometry(x.shape, pool_param)
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i, j in np.ndindex(Ho, Wo):
        out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].mean(axis=(2, 3))
    return out, (x.shape, pool_param)


def avg_pool_backward(dout, cache):
    x_shape, pool_param = cache
    ph, pw, s, Ho, Wo = _pool_geometry(x_shape, pool_param)
    dx = np.zeros(x_shape)
    for i, j in np.ndindex(Ho, Wo):
        dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None] / (ph * pw)
    return dx


# ----------------------------------------------------------------------------- losses

def softmax_loss(x, y):
    """x (N, C) scores, y (N,) int labels -> mean cross-entropy, dx."""
    N = x.shape[0]
    log_p = _log_softmax(x)
    loss = -log_p[np.arange(N), y].mean()
    dx = np.exp(log_p)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


def svm_loss(x, y):
    """Multiclass hinge loss with margin 1, averaged over the batch: x (N, C), y (N,) int -> loss, dx."""
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    dx = (margins > 0).astype(float)
    dx[rows, y] = -dx.sum(axis=1)
    return margins.sum() / N, dx / N


def temporal_softmax_loss(x, y, mask):
    """x (N, T, V) scores, y (N, T) int, mask (N, T) bool: cross-entropy summed over the unmasked
    time steps and divided by N (not by the number of steps) -> loss, dx."""
    N, T, V = x.shape
    log_p = _log_softmax(x.reshape(N * T, V))
    rows, labels, keep = np.arange(N * T), y.reshape(-1), mask.reshape(-1)
    loss = -(keep * log_p[rows, labels]).sum() / N
    dx = np.exp(log_p)
    dx[rows, labels] -= 1
    dx *= keep[:, None] / N
    return loss, dx.reshape(N, T, V)


def logcosh_loss(x, y):
    """Log-cosh regression loss sum(log cosh(x - y)) / N for float targets y (not differentiated)."""
    d = x - y
    a = np.abs(d)
    loss = (a + np.log1p(np.exp(-2 * a)) - np.log(2.0)).sum() / x.shape[0]
    return loss, np.tanh(d) / x.shape[0]


# ----------------------------------------------------------------------------- recurrent layers

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,) -> next_h = tanh(x Wx + prev_h Wh + b)."""
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """-> dx, dprev_h, dWx, dWh, db."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H) -> every hidden state h (N, T, H)."""
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches, prev_h = [], h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, caches


def rnn_backward(dh, cache):
    """dh (N, T, H): upstream gradient of every hidden state -> dx, dh0, dWx, dWh, db."""
    x0, _, Wx, Wh, _ = cache[0]
    N, T, H = dh.shape
    dx = np.zeros((N, T, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def word_embedding_forward(x, W):
    """x (N, T) int word indices, W (V, D) -> out (N, T, D); only W is differentiable."""
    return W[x], (x, W.shape)


def word_embedding_backward(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    np.add.at(dW, x, dout)
    return dW


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> next_h, next_c, cache.
    The gates are the column blocks of x Wx + prev_h Wh + b in the order i, f, o, g."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """-> dx, dprev_h, dprev_c, dWx, dWh, db."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """x (N, T, D), h0 (N, H); the cell state starts at zero -> every hidden state h (N, T, H)."""
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    caches, prev_h, prev_c = [], h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(step_cache)
    return h, caches


def lstm_backward(dh, cache):
    """dh (N, T, H) -> dx, dh0, dWx, dWh, db."""
    x0, _, _, Wx, Wh = cache[0][:5]
    N, T, H = dh.shape
    dx = np.zeros((N, T, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """x (N, T, D), w (D, M), b (M,) -> out (N, T, M)."""
    return x @ w + b, (x, w)


def temporal_affine_backward(dout, cache):
    x, w = cache
    D, M = w.shape
    dw = x.reshape(-1, D).T @ dout.reshape(-1, M)
    return dout @ w.T, dw, dout.sum(axis=(0, 1))
