"""Plausible hand-derivation bugs, at least two per layer of layers.py, registered in BUGS.

Almost every bug is a wrong backward paired with the correct forward from layers.py (for a loss: a
loss function whose value is right and whose dx is wrong). `wrong_inputs` names the returned gradients
that are wrong; the others are right. Some bugs show only on particular arguments (a stride > 1,
overlapping windows, ties, repeated word indices, a square matrix): cases.BUG_CASES builds those.
"""

from typing import Callable, NamedTuple, Optional

import numpy as np

try:
    from . import layers as L
except ImportError:  # loaded by path, with this folder on sys.path
    import layers as L


class Bug(NamedTuple):
    name: str
    layer: str
    forward: Callable
    backward: Optional[Callable]  # None for a loss: the bug is in the loss function's dx
    wrong_inputs: tuple
    description: str


# ----------------------------------------------------------------------------- affine

def affine_backward_dw_transposed(dout, cache):
    x, w = cache
    dx, _, db = L.affine_backward(dout, cache)
    dw = dout.T @ x.reshape(x.shape[0], -1)  # BUG: (M, D), the transpose of dw; same shape when D == M
    return dx, dw, db


def affine_backward_db_mean(dout, cache):
    dx, dw, _ = L.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)  # BUG: the bias is added to every row, so its gradient is a sum


def affine_backward_dx_not_reshaped(dout, cache):
    x, w = cache
    _, dw, db = L.affine_backward(dout, cache)
    return dout @ w.T, dw, db  # BUG: dx left as (N, D) instead of x's shape (N, d1, ..., dk)


# ----------------------------------------------------------------------------- activations

def relu_backward_mask_from_dout(dout, cache):
    return dout * (dout > 0)  # BUG: the mask must come from the input x, not from dout


def relu_backward_no_chain_rule(dout, cache):
    x = cache
    return (x > 0).astype(float)  # BUG: local derivative only, dout forgotten


def leaky_relu_backward_slope_forgotten(dout, cache):
    x, alpha = cache
    return dout * (x > 0)  # BUG: copied from relu, the negative side has slope alpha, not 0


def leaky_relu_backward_slopes_swapped(dout, cache):
    x, alpha = cache
    return dout * np.where(x > 0, alpha, 1.0)  # BUG: alpha on the positive side


def sigmoid_backward_on_input(dout, cache):
    """The forward caches x here; the backward then applies s(1 - s) to x instead of to sigmoid(x)."""
    x = cache
    return dout * x * (1 - x)  # BUG


def sigmoid_forward_caching_input(x):
    return L._sigmoid(x), x


def sigmoid_backward_sign(dout, cache):
    s = cache
    return dout * s * (s - 1)  # BUG: sign error


def tanh_backward_on_input(dout, cache):
    x = cache
    return dout * (1 - x ** 2)  # BUG: tanh'(x) written as 1 - x^2 instead of 1 - tanh(x)^2


def tanh_forward_caching_input(x):
    return np.tanh(x), x


def tanh_backward_not_squared(dout, cache):
    t = cache
    return dout * (1 - t)  # BUG: 1 - tanh instead of 1 - tanh^2


def swish_backward_sigmoid_term_only(dout, cache):
    x, s = cache
    return dout * x * s * (1 - s)  # BUG: product rule, the "s" term of (x s)' = s + x s' is missing


def swish_backward_x_as_constant(dout, cache):
    x, s = cache
    return dout * s  # BUG: product rule, x s' is missing


def linear_sum_forward_keeping_inputs(x, y):
    return x + y, (x, y)


def linear_sum_backward_as_product(dout, cache):
    x, y = cache
    return dout * y, dout * x  # BUG: the rule for x * y, not x + y


def linear_sum_backward_dy_negated(dout, cache):
    return dout.copy(), -dout  # BUG: the rule for x - y


# ----------------------------------------------------------------------------- normalisation, dropout

def batchnorm_backward_missing_gamma(dout, cache):
    xhat, gamma, std, mode = cache
    dx = L._normalization_dx(dout, xhat, std, axis=0)  # BUG: dxhat = dout * gamma
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_statistics_constant(dout, cache):
    xhat, gamma, std, mode = cache
    dx = dout * gamma / std  # BUG: drops the paths through the batch mean and variance (1/N terms)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def batchnorm_backward_dgamma_uses_x(dout, cache):
    xhat, gamma, std, mode = cache
    dx, _, dbeta = L.batchnorm_backward(dout, cache)
    x_again = xhat * std  # (x - mean): the student's "x" is centred but not normalised
    return dx, (dout * x_again).sum(axis=0), dbeta  # BUG: dgamma needs xhat


def layernorm_backward_batch_axis(dout, cache):
    xhat, gamma, std = cache
    dx = L._normalization_dx(dout * gamma, xhat, std, axis=0)  # BUG: copied from batchnorm, axis 0
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_backward_missing_gamma(dout, cache):
    xhat, gamma, std = cache
    dx = L._normalization_dx(dout, xhat, std, axis=1)  # BUG: dxhat = dout * gamma
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_backward_dgamma_mean(dout, cache):
    dx, dgamma, dbeta = L.layernorm_backward(dout, cache)
    return dx, dgamma / dout.shape[0], dbeta  # BUG: averaged over the batch instead of summed


def dropout_backward_mask_twice(dout, cache):
    mask = cache
    return dout * mask * mask  # BUG: the (already rescaled) mask applied twice


def dropout_backward_no_rescale(dout, cache):
    mask = cache
    return dout * (mask > 0)  # BUG: the forward divides by p, the backward forgets to


def spatial_batchnorm_backward_no_transpose(dout, cache):
    bn_cache, gamma_shape, beta_shape = cache
    N, C, H, W = dout.shape
    flat = dout.reshape(-1, C)  # BUG: needs dout.transpose(0, 2, 3, 1) first, as in the forward
    dx, dgamma, dbeta = L.batchnorm_backward(flat, bn_cache)
    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma.reshape(gamma_shape), dbeta.reshape(beta_shape)


def spatial_batchnorm_backward_count_batch_only(dout, cache):
    (xhat, gamma, std, mode), gamma_shape, beta_shape = cache
    N, C, H, W = dout.shape
    _, dgamma, dbeta = L.spatial_batchnorm_backward(dout, cache)
    dxhat = dout.transpose(0, 2, 3, 1).reshape(-1, C) * gamma
    m = N  # BUG: the statistics are over N * H * W values, not N
    dx = (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (m * std)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


def spatial_groupnorm_backward_count_channels_only(dout, cache):
    xhat, g, std, G, gamma_shape, beta_shape = cache
    N, C = dout.shape[:2]
    _, dgamma, dbeta = L.spatial_groupnorm_backward(dout, cache)
    dxhat, xh = (dout * g).reshape(N, G, -1), xhat.reshape(N, G, -1)
    m = C // G  # BUG: each group holds C/G * H * W values
    dx = (m * dxhat - dxhat.sum(axis=2, keepdims=True) - xh * (dxhat * xh).sum(axis=2, keepdims=True)) / (m * std)
    return dx.reshape(dout.shape), dgamma, dbeta


def spatial_groupnorm_backward_missing_gamma(dout, cache):
    xhat, g, std, G, gamma_shape, beta_shape = cache
    N = dout.shape[0]
    _, dgamma, dbeta = L.spatial_groupnorm_backward(dout, cache)
    dxhat = dout.reshape(N, G, -1)  # BUG: dxhat = dout * gamma
    dx = L._normalization_dx(dxhat, xhat.reshape(N, G, -1), std, axis=2).reshape(dout.shape)
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------- convolution

def conv_backward_naive_dw_stride_ignored(dout, cache):
    x, w, conv_param = cache
    pad = conv_param["pad"]
    HH, WW = w.shape[2:]
    dx, _, db = L.conv_backward_naive(dout, cache)
    xp, dw = L._pad(x, pad), np.zeros_like(w)
    for n, f, i, j in np.ndindex(dout.shape):
        dw[f] += xp[n, :, i:i + HH, j:j + WW] * dout[n, f, i, j]  # BUG: window at i, j, not i*s, j*s
    return dx, dw, db


def conv_backward_naive_pad_not_trimmed(dout, cache):
    x, w, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    _, dw, db = L.conv_backward_naive(dout, cache)
    dxp = np.zeros_like(L._pad(x, pad))
    for n, f, i, j in np.ndindex(dout.shape):
        dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += w[f] * dout[n, f, i, j]
    return dxp, dw, db  # BUG: the padded border is returned, dx has shape (N, C, H + 2 pad, W + 2 pad)


def conv_backward_naive_db_mean(dout, cache):
    dx, dw, _ = L.conv_backward_naive(dout, cache)
    return dx, dw, dout.mean(axis=(0, 2, 3))  # BUG: b[f] is added at every position: sum, not mean


def conv_dx_as_full_convolution(dout, w, x_shape, pad, flip):
    """dx for stride 1 as the 'full' correlation of dout with w rotated by 180 degrees (flip=True)."""
    HH, WW = w.shape[2:]
    kernel = w[:, :, ::-1, ::-1] if flip else w
    dpad = np.pad(dout, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
    dxp, _ = L.conv_forward_im2col(dpad, kernel.transpose(1, 0, 2, 3), np.zeros(w.shape[1]), {"stride": 1, "pad": 0})
    return dxp[:, :, pad:pad + x_shape[2], pad:pad + x_shape[3]]


def conv_backward_kernel_not_flipped(dout, cache):
    x, w, conv_param = cache
    _, dw, db = L.conv_backward_naive(dout, cache)
    dx = conv_dx_as_full_convolution(dout, w, x.shape, conv_param["pad"], flip=False)  # BUG: not rotated
    return dx, dw, db


def conv_backward_im2col_buffered_add(dout, cache):
    x, w, cols, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    N, _, Ho, Wo = dout.shape
    _, dw, db = L.conv_backward_im2col(dout, cache)
    d = (dout.transpose(0, 2, 3, 1).reshape(-1, F) @ w.reshape(F, -1)).reshape(N, Ho, Wo, C, HH, WW)
    rows = (s * np.arange(Ho)[:, None, None, None] + np.arange(HH)[None, None, :, None])
    cols_ = (s * np.arange(Wo)[None, :, None, None] + np.arange(WW)[None, None, None, :])
    dxp = np.zeros((N, C) + (x.shape[2] + 2 * pad, x.shape[3] + 2 * pad))
    dxp[:, :, rows, cols_] += d.transpose(0, 3, 1, 2, 4, 5)  # BUG: repeated indices add once; np.add.at
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], dw, db


def conv_backward_im2col_dout_not_transposed(dout, cache):
    x, w, cols, conv_param = cache
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    d = dout.reshape(-1, F)  # BUG: rows must be (n, i, j) like cols: dout.transpose(0, 2, 3, 1) first
    dw = (d.T @ cols).reshape(w.shape)
    dx = L._col2im(d @ w.reshape(F, -1), x.shape, HH, WW, conv_param["stride"], conv_param["pad"], Ho, Wo)
    return dx, dw, d.sum(axis=0)


def conv_backward_im2col_trim_wrong_side(dout, cache):
    x, w, cols, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    _, dw, db = L.conv_backward_im2col(dout, cache)
    d = dout.transpose(0, 2, 3, 1).reshape(-1, F) @ w.reshape(F, -1)
    dxp = L._col2im(d, x.shape[:2] + (x.shape[2] + 2 * pad, x.shape[3] + 2 * pad), HH, WW, s, 0, Ho, Wo)
    return dxp[:, :, :x.shape[2], :x.shape[3]], dw, db  # BUG: the pad rows are cut at the end only


# ----------------------------------------------------------------------------- pooling

def max_pool_backward_ties_to_all(dout, cache):
    x, pool_param = cache
    ph, pw, s, _, _ = L._pool_geometry(x.shape, pool_param)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        dx[n, c, i * s:i * s + ph, j * s:j * s + pw] += (window == window.max()) * dout[n, c, i, j]  # BUG
    return dx


def max_pool_backward_overwrite(dout, cache):
    x, pool_param = cache
    ph, pw, s, _, _ = L._pool_geometry(x.shape, pool_param)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        mask = np.zeros_like(window)
        mask[np.unravel_index(np.argmax(window), window.shape)] = 1
        dx[n, c, i * s:i * s + ph, j * s:j * s + pw] = mask * dout[n, c, i, j]  # BUG: = drops overlaps
    return dx


def max_pool_backward_whole_window(dout, cache):
    x, pool_param = cache
    ph, pw, s, Ho, Wo = L._pool_geometry(x.shape, pool_param)
    dx = np.zeros_like(x)
    for i, j in np.ndindex(Ho, Wo):
        dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None]  # BUG: not just the max
    return dx


def avg_pool_backward_no_divide(dout, cache):
    x_shape, pool_param = cache
    ph, pw, s, Ho, Wo = L._pool_geometry(x_shape, pool_param)
    dx = np.zeros(x_shape)
    for i, j in np.ndindex(Ho, Wo):
        dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None]  # BUG: / (ph * pw)
    return dx


def avg_pool_backward_overwrite(dout, cache):
    x_shape, pool_param = cache
    ph, pw, s, Ho, Wo = L._pool_geometry(x_shape, pool_param)
    dx = np.zeros(x_shape)
    for i, j in np.ndindex(Ho, Wo):
        dx[:, :, i * s:i * s + ph, j * s:j * s + pw] = dout[:, :, i, j, None, None] / (ph * pw)  # BUG: =
    return dx


# ----------------------------------------------------------------------------- losses

def softmax_loss_not_divided_by_n(x, y):
    loss, dx = L.softmax_loss(x, y)
    return loss, dx * x.shape[0]  # BUG: the loss is a mean over N, dx is not divided by N


def softmax_loss_one_hot_forgotten(x, y):
    loss, _ = L.softmax_loss(x, y)
    return loss, np.exp(L._log_softmax(x)) / x.shape[0]  # BUG: probabilities without "- 1" at y


def svm_loss_correct_class_once(x, y):
    loss, dx = L.svm_loss(x, y)
    dx[np.arange(x.shape[0]), y] = -1.0 / x.shape[0]  # BUG: -1 per positive margin, not -1 once
    return loss, dx


def svm_loss_not_divided_by_n(x, y):
    loss, dx = L.svm_loss(x, y)
    return loss, dx * x.shape[0]  # BUG: dx not divided by N


def temporal_softmax_loss_mask_ignored(x, y, mask):
    N, T, V = x.shape
    loss, _ = L.temporal_softmax_loss(x, y, mask)
    p = np.exp(L._log_softmax(x.reshape(N * T, V)))
    p[np.arange(N * T), y.reshape(-1)] -= 1
    return loss, p.reshape(N, T, V) / N  # BUG: masked time steps still get a gradient


def temporal_softmax_loss_divided_by_nt(x, y, mask):
    loss, dx = L.temporal_softmax_loss(x, y, mask)
    return loss, dx / x.shape[1]  # BUG: divided by N * T while the loss is divided by N


def logcosh_loss_sinh(x, y):
    loss, _ = L.logcosh_loss(x, y)
    return loss, np.sinh(x - y) / x.shape[0]  # BUG: (log cosh u)' = sinh u / cosh u, divide forgotten


def logcosh_loss_sign(x, y):
    loss, _ = L.logcosh_loss(x, y)
    return loss, np.tanh(y - x) / x.shape[0]  # BUG: differentiated with respect to y


# ----------------------------------------------------------------------------- recurrent layers

def rnn_step_forward_caching_preactivation(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    return np.tanh(a), (x, prev_h, Wx, Wh, a)


def rnn_step_backward_preactivation(dnext_h, cache):
    x, prev_h, Wx, Wh, a = cache
    da = dnext_h * (1 - a ** 2)  # BUG: tanh'(a) is 1 - tanh(a)^2 = 1 - next_h^2
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_step_backward_dprev_h_untransposed(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh, x.T @ da, prev_h.T @ da, da.sum(axis=0)  # BUG: Wh instead of Wh.T


def rnn_step_backward_dwh_uses_next_h(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, next_h.T @ da, da.sum(axis=0)  # BUG: prev_h, not next_h


def rnn_backward_no_carry(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dWx, dWh, db = np.zeros_like(cache[0][2]), np.zeros_like(cache[0][3]), np.zeros(H)
    for t in reversed(range(T)):
        dx[:, t], dh0, dWx_t, dWh_t, db_t = L.rnn_step_backward(dh[:, t], cache[t])  # BUG: + dprev_h
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh0, dWx, dWh, db


def rnn_backward_weights_overwritten(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx, dWh, db = L.rnn_step_backward(dh[:, t] + dprev_h, cache[t])  # BUG: not +=
    return dx, dprev_h, dWx, dWh, db


def word_embedding_backward_fancy_add(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    dW[x] += dout  # BUG: a word used twice gets one contribution; needs np.add.at
    return dW


def word_embedding_backward_mean(dout, cache):
    x, W_shape = cache
    dW = np.zeros(W_shape)
    np.add.at(dW, x, dout)
    return dW / x.shape[0]  # BUG: averaged over the batch; the forward has no 1/N


def lstm_step_backward_no_h_to_c(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c  # BUG: next_h = o tanh(next_c) also sends dnext_h * o * (1 - tc^2) into dc
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward_gate_order(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)])  # BUG: i f g o
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward_tanh_prime_on_c(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - next_c ** 2)  # BUG: 1 - c^2 instead of 1 - tanh(c)^2
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward_dprev_c_no_forget(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc, x.T @ da, prev_h.T @ da, da.sum(axis=0)  # BUG: dprev_c is dc * f


def lstm_backward_cell_not_carried(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dWx, dWh, db = np.zeros_like(cache[0][3]), np.zeros_like(cache[0][4]), np.zeros(4 * H)
    dprev_h, zero = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        # BUG: the cell gradient dprev_c is dropped, every step starts from dnext_c = 0
        dx[:, t], dprev_h, _, dWx_t, dWh_t, db_t = L.lstm_step_backward(dh[:, t] + dprev_h, zero, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def lstm_backward_weights_overwritten(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        step = L.lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        dx[:, t], dprev_h, dprev_c, dWx, dWh, db = step  # BUG: weight gradients assigned, not summed over t
    return dx, dprev_h, dWx, dWh, db


def temporal_affine_backward_dw_reshaped(dout, cache):
    x, w = cache
    D, M = w.shape
    dx, _, db = L.temporal_affine_backward(dout, cache)
    dw = x.reshape(D, -1) @ dout.reshape(-1, M)  # BUG: reshape is not a transpose: x.reshape(-1, D).T
    return dx, dw, db


def temporal_affine_backward_db_mean(dout, cache):
    dx, dw, _ = L.temporal_affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=(0, 1))  # BUG: mean over N and T instead of the sum


# ----------------------------------------------------------------------------- the table

def _bug(name, layer, forward, backward, wrong, description):
    return Bug(name, layer, forward, backward, tuple(wrong), description)


DX, ALL3 = ("dx",), ("dx", "dw", "db")
RNN_ALL = ("dx", "dh0", "dWx", "dWh", "db")
RNN_STEP_ALL = ("dx", "dprev_h", "dWx", "dWh", "db")
LSTM_STEP_ALL = ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db")
BUGS = [
    _bug("affine_dw_transposed", "affine", L.affine_forward, affine_backward_dw_transposed, ["dw"],
         "dw = dout.T @ x: the transpose; only visible in value when w is square"),
    _bug("affine_db_mean", "affine", L.affine_forward, affine_backward_db_mean, ["db"],
         "db averaged, missing factor N"),
    _bug("affine_dx_not_reshaped", "affine", L.affine_forward, affine_backward_dx_not_reshaped, DX,
         "dx returned flat (N, D), not in x's shape"),
    _bug("relu_mask_from_dout", "relu", L.relu_forward, relu_backward_mask_from_dout, DX, "mask taken from dout"),
    _bug("relu_no_chain_rule", "relu", L.relu_forward, relu_backward_no_chain_rule, DX, "dout forgotten"),
    _bug("leaky_relu_slope_forgotten", "leaky_relu", L.leaky_relu_forward, leaky_relu_backward_slope_forgotten, DX,
         "negative side gets 0 instead of alpha"),
    _bug("leaky_relu_slopes_swapped", "leaky_relu", L.leaky_relu_forward, leaky_relu_backward_slopes_swapped, DX,
         "alpha and 1 swapped"),
    _bug("sigmoid_derivative_on_input", "sigmoid", sigmoid_forward_caching_input, sigmoid_backward_on_input, DX,
         "s(1 - s) evaluated at x instead of sigmoid(x)"),
    _bug("sigmoid_sign", "sigmoid", L.sigmoid_forward, sigmoid_backward_sign, DX, "s(s - 1): sign error"),
    _bug("tanh_derivative_on_input", "tanh", tanh_forward_caching_input, tanh_backward_on_input, DX,
         "tanh' written as 1 - x^2 instead of 1 - tanh(x)^2"),
    _bug("tanh_not_squared", "tanh", L.tanh_forward, tanh_backward_not_squared, DX, "1 - tanh instead of 1 - tanh^2"),
    _bug("swish_sigmoid_term_only", "swish", L.swish_forward, swish_backward_sigmoid_term_only, DX,
         "product rule: the s term missing"),
    _bug("swish_x_as_constant", "swish", L.swish_forward, swish_backward_x_as_constant, DX,
         "product rule: the x s' term missing"),
    _bug("linear_sum_as_product", "linear_sum", linear_sum_forward_keeping_inputs, linear_sum_backward_as_product,
         ["dx", "dy"], "the rule for x * y"),
    _bug("linear_sum_dy_negated", "linear_sum", L.linear_sum_forward, linear_sum_backward_dy_negated, ["dy"],
         "the rule for x - y"),
    _bug("batchnorm_missing_gamma", "batchnorm", L.batchnorm_forward, batchnorm_backward_missing_gamma, DX,
         "dxhat = dout, gamma forgotten"),
    _bug("batchnorm_statistics_constant", "batchnorm", L.batchnorm_forward, batchnorm_backward_statistics_constant,
         DX, "dx = dout * gamma / std: the 1/N terms through mean and variance missing"),
    _bug("batchnorm_dgamma_uses_x", "batchnorm", L.batchnorm_forward, batchnorm_backward_dgamma_uses_x, ["dgamma"],
         "dgamma = sum(dout * (x - mean)) instead of sum(dout * xhat)"),
    _bug("layernorm_batch_axis", "layernorm", L.layernorm_forward, layernorm_backward_batch_axis, DX,
         "batchnorm's dx formula over axis 0 kept"),
    _bug("layernorm_missing_gamma", "layernorm", L.layernorm_forward, layernorm_backward_missing_gamma, DX,
         "dxhat = dout, gamma forgotten"),
    _bug("layernorm_dgamma_mean", "layernorm", L.layernorm_forward, layernorm_backward_dgamma_mean, ["dgamma"],
         "dgamma averaged over the batch"),
    _bug("dropout_mask_twice", "dropout", L.dropout_forward, dropout_backward_mask_twice, DX,
         "rescaled mask applied twice"),
    _bug("dropout_no_rescale", "dropout", L.dropout_forward, dropout_backward_no_rescale, DX,
         "1/p forgotten in the backward"),
    _bug("spatial_batchnorm_no_transpose", "spatial_batchnorm", L.spatial_batchnorm_forward,
         spatial_batchnorm_backward_no_transpose, ["dx", "dgamma", "dbeta"], "dout.reshape(-1, C) without transpose"),
    _bug("spatial_batchnorm_count_batch_only", "spatial_batchnorm", L.spatial_batchnorm_forward,
         spatial_batchnorm_backward_count_batch_only, DX, "m = N instead of N * H * W"),
    _bug("spatial_groupnorm_count_channels_only", "spatial_groupnorm", L.spatial_groupnorm_forward,
         spatial_groupnorm_backward_count_channels_only, DX, "m = C / G instead of C / G * H * W"),
    _bug("spatial_groupnorm_missing_gamma", "spatial_groupnorm", L.spatial_groupnorm_forward,
         spatial_groupnorm_backward_missing_gamma, DX, "dxhat = dout, gamma forgotten"),
    _bug("conv_naive_dw_stride_ignored", "conv_naive", L.conv_forward_naive, conv_backward_naive_dw_stride_ignored,
         ["dw"], "dw reads the window at (i, j) instead of (i * stride, j * stride)"),
    _bug("conv_naive_pad_not_trimmed", "conv_naive", L.conv_forward_naive, conv_backward_naive_pad_not_trimmed, DX,
         "dx keeps the padding: shape (N, C, H + 2 pad, W + 2 pad)"),
    _bug("conv_naive_db_mean", "conv_naive", L.conv_forward_naive, conv_backward_naive_db_mean, ["db"],
         "db averaged over N, H', W'"),
    _bug("conv_naive_kernel_not_flipped", "conv_naive", L.conv_forward_naive, conv_backward_kernel_not_flipped, DX,
         "dx as a full convolution of dout with w not rotated by 180 degrees (stride 1)"),
    _bug("conv_im2col_buffered_add", "conv_im2col", L.conv_forward_im2col, conv_backward_im2col_buffered_add, DX,
         "col2im with fancy-index += : overlapping windows add once (np.add.at needed)"),
    _bug("conv_im2col_dout_not_transposed", "conv_im2col", L.conv_forward_im2col,
         conv_backward_im2col_dout_not_transposed, ALL3, "dout.reshape(-1, F) in (n, f, i, j) order"),
    _bug("conv_im2col_trim_wrong_side", "conv_im2col", L.conv_forward_im2col, conv_backward_im2col_trim_wrong_side,
         DX, "the padding cut at the end only: dx shifted by pad"),
    _bug("max_pool_ties_to_all", "max_pool", L.max_pool_forward, max_pool_backward_ties_to_all, DX,
         "every tied maximum of a window gets dout (needs ties)"),
    _bug("max_pool_overwrite", "max_pool", L.max_pool_forward, max_pool_backward_overwrite, DX,
         "dx[window] = ... instead of += : overlapping windows overwrite each other"),
    _bug("max_pool_whole_window", "max_pool", L.max_pool_forward, max_pool_backward_whole_window, DX,
         "dout sent to the whole window, not only to its maximum"),
    _bug("avg_pool_no_divide", "avg_pool", L.avg_pool_forward, avg_pool_backward_no_divide, DX,
         "1 / (pool_height * pool_width) forgotten"),
    _bug("avg_pool_overwrite", "avg_pool", L.avg_pool_forward, avg_pool_backward_overwrite, DX,
         "= instead of += : overlapping windows overwrite each other"),
    _bug("softmax_loss_not_divided_by_n", "softmax_loss", softmax_loss_not_divided_by_n, None, DX,
         "dx not divided by N (factor N)"),
    _bug("softmax_loss_one_hot_forgotten", "softmax_loss", softmax_loss_one_hot_forgotten, None, DX,
         "dx = p / N without the -1 at the label"),
    _bug("svm_loss_correct_class_once", "svm_loss", svm_loss_correct_class_once, None, DX,
         "the label's score gets -1 instead of minus the number of positive margins"),
    _bug("svm_loss_not_divided_by_n", "svm_loss", svm_loss_not_divided_by_n, None, DX, "dx not divided by N"),
    _bug("temporal_softmax_loss_mask_ignored", "temporal_softmax_loss", temporal_softmax_loss_mask_ignored, None, DX,
         "masked steps still get a gradient"),
    _bug("temporal_softmax_loss_divided_by_nt", "temporal_softmax_loss", temporal_softmax_loss_divided_by_nt, None,
         DX, "dx divided by N * T, the loss by N"),
    _bug("logcosh_loss_sinh", "logcosh_loss", logcosh_loss_sinh, None, DX, "sinh instead of tanh"),
    _bug("logcosh_loss_sign", "logcosh_loss", logcosh_loss_sign, None, DX, "sign error: tanh(y - x)"),
    _bug("rnn_step_derivative_at_preactivation", "rnn_step", rnn_step_forward_caching_preactivation,
         rnn_step_backward_preactivation, RNN_STEP_ALL, "da = dnext_h * (1 - a^2) at the pre-activation a"),
    _bug("rnn_step_dprev_h_untransposed", "rnn_step", L.rnn_step_forward, rnn_step_backward_dprev_h_untransposed,
         ["dprev_h"], "dprev_h = da @ Wh instead of da @ Wh.T (Wh is square)"),
    _bug("rnn_step_dwh_uses_next_h", "rnn_step", L.rnn_step_forward, rnn_step_backward_dwh_uses_next_h, ["dWh"],
         "dWh = next_h.T @ da instead of prev_h.T @ da"),
    _bug("rnn_no_carry", "rnn", L.rnn_forward, rnn_backward_no_carry, RNN_ALL,
         "the gradient flowing back through h(t-1) is dropped"),
    _bug("rnn_weights_overwritten", "rnn", L.rnn_forward, rnn_backward_weights_overwritten, ["dWx", "dWh", "db"],
         "weight gradients assigned each step instead of summed over time"),
    _bug("word_embedding_fancy_add", "word_embedding", L.word_embedding_forward, word_embedding_backward_fancy_add,
         ["dW"], "dW[x] += dout: a repeated word counted once (needs repeats)"),
    _bug("word_embedding_mean", "word_embedding", L.word_embedding_forward, word_embedding_backward_mean, ["dW"],
         "dW divided by N"),
    _bug("lstm_step_no_h_to_c", "lstm_step", L.lstm_step_forward, lstm_step_backward_no_h_to_c, LSTM_STEP_ALL,
         "dc = dnext_c: the contribution of dnext_h through tanh(next_c) forgotten"),
    _bug("lstm_step_gate_order", "lstm_step", L.lstm_step_forward, lstm_step_backward_gate_order,
         ["dx", "dprev_h", "dWx", "dWh", "db"], "gate gradients stacked i, f, g, o; the forward uses i, f, o, g"),
    _bug("lstm_step_tanh_prime_on_c", "lstm_step", L.lstm_step_forward, lstm_step_backward_tanh_prime_on_c,
         LSTM_STEP_ALL, "tanh'(c) written as 1 - c^2"),
    _bug("lstm_step_dprev_c_no_forget", "lstm_step", L.lstm_step_forward, lstm_step_backward_dprev_c_no_forget,
         ["dprev_c"], "dprev_c = dc instead of dc * f"),
    _bug("lstm_cell_not_carried", "lstm", L.lstm_forward, lstm_backward_cell_not_carried, RNN_ALL,
         "the cell-state gradient is not passed back in time"),
    _bug("lstm_weights_overwritten", "lstm", L.lstm_forward, lstm_backward_weights_overwritten, ["dWx", "dWh", "db"],
         "weight gradients assigned each step instead of summed over time"),
    _bug("temporal_affine_dw_reshaped", "temporal_affine", L.temporal_affine_forward,
         temporal_affine_backward_dw_reshaped, ["dw"], "x.reshape(D, -1) used as the transpose of x.reshape(-1, D)"),
    _bug("temporal_affine_db_mean", "temporal_affine", L.temporal_affine_forward, temporal_affine_backward_db_mean,
         ["db"], "db averaged over N and T"),
]

BUGS_BY_NAME = {bug.name: bug for bug in BUGS}
