"""No false alarm on any correct zoo layer, over random shapes and options drawn by hypothesis.

Every layer of tests/zoo/layers.py gets random sizes (batch 1 … 4, widths, sequence lengths, channels),
random options (convolution stride, padding and kernel; pooling windows that overlap or not; batchnorm in
train and test mode; group counts; dropout probability and seed) and random values (kept off kinks where
the layer has them: relu inputs 0.05 away from 0, max-pooling inputs without ties). The correct backward
must agree; an undecidable verdict is allowed only with a stated reason and is counted.

    python -m pytest -m slow tests/test_layer_no_false_alarms.py -s -n 0                              # the ci profile
    HYPOTHESIS_PROFILE=thorough python -m pytest -m slow tests/test_layer_no_false_alarms.py -s -n 0  # 1000 per layer

The default suite runs a few examples per layer (not slow).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gradproof

from .zoo import layers as L

COUNTS = {"agree": 0, "undecidable": 0}


def _away(x):
    return x + 0.05 * np.sign(x)


def _distinct(rng, shape):
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) - size / 2) * 0.1


@st.composite
def conv_case(draw):
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw, stride, pad = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 2))
    ho, wo = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = (ho - 1) * stride + kh - 2 * pad, (wo - 1) * stride + kw - 2 * pad
    if h < 1 or w < 1:
        h, w, pad = (ho - 1) * stride + kh, (wo - 1) * stride + kw, 0
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    forward, backward = draw(st.sampled_from([(L.conv_forward_naive, L.conv_backward_naive),
                                              (L.conv_forward_im2col, L.conv_backward_im2col)]))
    return forward, backward, (rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, kh, kw)),
                               rng.standard_normal(f), {"stride": stride, "pad": pad})


@st.composite
def pool_case(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ho, wo = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (n, c, (ho - 1) * stride + ph, (wo - 1) * stride + pw)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    pool = {"pool_height": ph, "pool_width": pw, "stride": stride}
    if draw(st.booleans()):
        return L.max_pool_forward, L.max_pool_backward, (_distinct(rng, shape), pool)
    return L.avg_pool_forward, L.avg_pool_backward, (rng.standard_normal(shape), pool)


@st.composite
def norm_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n, d = draw(st.integers(2, 5)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["batchnorm", "layernorm", "spatial_batchnorm", "spatial_groupnorm"]))
    scale, shift = draw(st.floats(0.1, 10)), draw(st.floats(-5, 5))
    if kind == "batchnorm":
        mode = draw(st.sampled_from(["train", "test"]))
        bn = {"mode": mode, "running_mean": rng.standard_normal(d), "running_var": rng.uniform(0.5, 2, d)}
        return L.batchnorm_forward, L.batchnorm_backward, (scale * rng.standard_normal((n, d)) + shift,
                                                           rng.uniform(0.5, 1.5, d), rng.standard_normal(d), bn)
    if kind == "layernorm":
        d = max(d, 2)
        return L.layernorm_forward, L.layernorm_backward, (scale * rng.standard_normal((n, d)) + shift,
                                                           rng.uniform(0.5, 1.5, d), rng.standard_normal(d), {})
    g = draw(st.integers(1, 3))
    c = g * draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    gamma_shape = draw(st.sampled_from([(c,), (1, c, 1, 1)]))
    x = scale * rng.standard_normal((n, c, h, w)) + shift
    gamma, beta = rng.uniform(0.5, 1.5, c).reshape(gamma_shape), rng.standard_normal(c).reshape(gamma_shape)
    if kind == "spatial_batchnorm":
        return L.spatial_batchnorm_forward, L.spatial_batchnorm_backward, (x, gamma, beta, {"mode": "train"})
    return L.spatial_groupnorm_forward, L.spatial_groupnorm_backward, (x, gamma, beta, g, {"eps": 1e-5})


@st.composite
def elementwise_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    x = draw(st.floats(0.1, 5)) * rng.standard_normal(shape)
    kind = draw(st.sampled_from(["relu", "leaky_relu", "sigmoid", "tanh", "swish", "linear_sum", "dropout"]))
    if kind == "relu":
        return L.relu_forward, L.relu_backward, (_away(x),)
    if kind == "leaky_relu":
        return L.leaky_relu_forward, L.leaky_relu_backward, (_away(x), draw(st.floats(0.0, 0.9)))
    if kind == "linear_sum":
        return L.linear_sum_forward, L.linear_sum_backward, (x, rng.standard_normal(shape))
    if kind == "dropout":
        p = {"p": draw(st.floats(0.1, 1.0)), "mode": draw(st.sampled_from(["train", "test"])),
             "seed": draw(st.integers(0, 1000))}
        return L.dropout_forward, L.dropout_backward, (x, p)
    return getattr(L, f"{kind}_forward"), getattr(L, f"{kind}_backward"), (x,)


@st.composite
def affine_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    dims = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    d = int(np.prod(dims))
    if draw(st.booleans()):
        return L.affine_forward, L.affine_backward, (rng.standard_normal((n,) + dims), rng.standard_normal((d, m)),
                                                     rng.standard_normal(m))
    t = draw(st.integers(1, 3))
    return L.temporal_affine_forward, L.temporal_affine_backward, (
        rng.standard_normal((n, t, dims[0])), rng.standard_normal((dims[0], m)), rng.standard_normal(m))


@st.composite
def loss_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    scale = draw(st.floats(0.1, 10))
    kind = draw(st.sampled_from(["softmax_loss", "svm_loss", "temporal_softmax_loss", "logcosh_loss"]))
    if kind == "temporal_softmax_loss":
        t = draw(st.integers(1, 4))
        mask = rng.random((n, t)) < 0.6
        return L.temporal_softmax_loss, None, (scale * rng.standard_normal((n, t, c)),
                                               rng.integers(0, c, (n, t)), mask)
    if kind == "logcosh_loss":
        return L.logcosh_loss, None, (scale * rng.standard_normal((n, c)), rng.standard_normal((n, c)))
    return getattr(L, kind), None, (scale * rng.standard_normal((n, c)), rng.integers(0, c, n))


@st.composite
def recurrent_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n, d, h, t = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    s = draw(st.floats(0.1, 1.0))
    kind = draw(st.sampled_from(["rnn_step", "rnn", "lstm_step", "lstm", "word_embedding"]))
    gates = 4 * h if kind.startswith("lstm") else h
    weights = (s * rng.standard_normal((d, gates)), s * rng.standard_normal((h, gates)), s * rng.standard_normal(gates))
    if kind == "word_embedding":
        v = draw(st.integers(1, 5))
        return L.word_embedding_forward, L.word_embedding_backward, (rng.integers(0, v, (n, t)),
                                                                     rng.standard_normal((v, d)))
    x = rng.standard_normal((n, d) if kind.endswith("step") else (n, t, d))
    state = (rng.standard_normal((n, h)),) + ((rng.standard_normal((n, h)),) if kind == "lstm_step" else ())
    return getattr(L, f"{kind}_forward"), getattr(L, f"{kind}_backward"), (x,) + state + weights


CASES = {"conv": conv_case(), "pool": pool_case(), "norm": norm_case(), "elementwise": elementwise_case(),
         "affine": affine_case(), "loss": loss_case(), "recurrent": recurrent_case()}


def _no_false_alarm(case):
    forward, backward, args = case
    if backward is None:
        result = gradproof.check_loss(forward, args, budget=0.2)
    else:
        result = gradproof.check_layer(forward, backward, args, budget=0.2)
    assert result.status in ("agree", "undecidable"), result.report()
    if result.status == "undecidable":
        assert result.reason, result.report()
    COUNTS[result.status] += 1


@pytest.mark.parametrize("family", list(CASES))
@pytest.mark.sampled(3)
def test_a_few_random_zoo_layers_agree(family):
    settings(max_examples=3, derandomize=True)(given(CASES[family])(_no_false_alarm))()


@pytest.mark.slow
@pytest.mark.parametrize("family", list(CASES))
def test_random_zoo_layers_never_raise_a_false_alarm(family):
    given(CASES[family])(_no_false_alarm)()
    print(f"\n{family}: {COUNTS}")
