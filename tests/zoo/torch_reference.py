"""Every zoo layer's forward written in torch, for the oracle's autograd reference (torch is optional:
import this only after pytest.importorskip("torch")). FORWARDS[layer](*args) takes the layer's arguments,
the differentiable ones as float64 tensors and the rest (ints, masks, dicts, scalars) as given, and
returns a tuple of outputs (the loss alone for a loss). Dropout is missing: it is checked by finite
differences, its mask being the layer's own.
"""

import torch
import torch.nn.functional as F

t = torch.as_tensor


def _eps(param):
    return param.get("eps", 1e-5)


def affine(x, w, b):
    return (x.reshape(x.shape[0], -1) @ w + b,)


def batchnorm(x, gamma, beta, bn_param):
    """Plain and spatial batchnorm (torch normalises (N, C, ...) per channel); train or test mode."""
    train = bn_param.get("mode", "train") == "train"
    rm, rv = (None, None) if train else (t(bn_param["running_mean"]), t(bn_param["running_var"]))
    return (F.batch_norm(x, rm, rv, gamma.reshape(-1), beta.reshape(-1), training=train, eps=_eps(bn_param)),)


def layernorm(x, gamma, beta, ln_param):
    return (F.layer_norm(x, x.shape[1:], gamma, beta, eps=_eps(ln_param)),)


def groupnorm(x, gamma, beta, G, gn_param):
    return (F.group_norm(x, G, gamma.reshape(-1), beta.reshape(-1), _eps(gn_param)),)


def conv(x, w, b, conv_param):
    return (F.conv2d(x, w, b, stride=conv_param["stride"], padding=conv_param["pad"]),)


def max_pool(x, pool_param):
    return (F.max_pool2d(x, (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]),)


def avg_pool(x, pool_param):
    return (F.avg_pool2d(x, (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]),)


def svm_loss(x, y):
    """torch's multi-margin loss also divides by the number of classes C."""
    return (F.multi_margin_loss(x, t(y)) * x.shape[1],)


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    per_step = F.cross_entropy(x.reshape(N * T, V), t(y).reshape(-1), reduction="none")
    return ((per_step * t(mask).reshape(-1)).sum() / N,)


def rnn_step(x, prev_h, Wx, Wh, b):
    return (torch.rnn_tanh_cell(x, prev_h, Wx.T, Wh.T, b, None),)


def rnn(x, h, Wx, Wh, b):
    hs = []
    for step in range(x.shape[1]):
        (h,) = rnn_step(x[:, step], h, Wx, Wh, b)
        hs.append(h)
    return (torch.stack(hs, dim=1),)


def _gates_ifgo(w):
    """The zoo stacks the gate blocks as i, f, o, g; torch.lstm_cell wants i, f, g, o."""
    i, f, o, g = w.chunk(4, dim=-1)
    return torch.cat([i, f, g, o], dim=-1)


def lstm_step(x, prev_h, prev_c, Wx, Wh, b):
    return torch.lstm_cell(x, (prev_h, prev_c), _gates_ifgo(Wx).T, _gates_ifgo(Wh).T, _gates_ifgo(b), None)


def lstm(x, h, Wx, Wh, b):
    c, hs = torch.zeros_like(h), []
    for step in range(x.shape[1]):
        h, c = lstm_step(x[:, step], h, c, Wx, Wh, b)
        hs.append(h)
    return (torch.stack(hs, dim=1),)


FORWARDS = {
    "affine": affine,
    "relu": lambda x: (torch.relu(x),),
    "leaky_relu": lambda x, alpha: (F.leaky_relu(x, alpha),),
    "sigmoid": lambda x: (torch.sigmoid(x),),
    "tanh": lambda x: (torch.tanh(x),),
    "swish": lambda x: (F.silu(x),),
    "linear_sum": lambda x, y: (x + y,),
    "batchnorm": batchnorm,
    "spatial_batchnorm": batchnorm,
    "layernorm": layernorm,
    "spatial_groupnorm": groupnorm,
    "conv_naive": conv,
    "conv_im2col": conv,
    "max_pool": max_pool,
    "avg_pool": avg_pool,
    "softmax_loss": lambda x, y: (F.cross_entropy(x, t(y)),),
    "svm_loss": svm_loss,
    "temporal_softmax_loss": temporal_softmax_loss,
    "logcosh_loss": lambda x, y: (torch.log(torch.cosh(x - t(y))).sum() / x.shape[0],),
    "rnn_step": rnn_step,
    "rnn": rnn,
    "word_embedding": lambda x, W: (F.embedding(t(x), W),),
    "lstm_step": lstm_step,
    "lstm": lstm,
    "temporal_affine": lambda x, w, b: (x @ w + b,),
}
