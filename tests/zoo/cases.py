"""Example arguments for every layer of layers.py, every bug of bugs.py and the student's course_layers.py.

Every make_args(rng) takes a numpy Generator and returns a fresh list of positional arguments: float64
arrays with valid shapes (N > 1), int labels and indices, boolean masks, option dicts, scalars.

CASES[name] = Case(forward, backward, make_args, differentiable, grads, layer, deterministic): backward is
None for a loss (its forward returns loss, dx); differentiable lists the positions of the differentiated
arguments and grads names their gradients in the order the backward returns them. A layer may have
several cases (suffixes such as _gamma4d or _stride1, other shape conventions); CASES[layer] is its
main one. BUG_CASES[bug name] is the make_args a bug is shown on; COURSE describes course_layers.py.
"""

from typing import Callable, NamedTuple, Optional

import numpy as np

try:
    from . import bugs as B, course_layers as S, layers as L
except ImportError:  # loaded by path, with this folder on sys.path
    import bugs as B
    import course_layers as S
    import layers as L


class Case(NamedTuple):
    forward: Callable
    backward: Optional[Callable]  # None for a loss: forward returns (loss, dx)
    make_args: Callable
    differentiable: tuple  # positions of the differentiable arguments
    grads: tuple  # names of the returned gradients, in order
    layer: str
    deterministic: bool = True  # False: the forward draws fresh random numbers on every call


def _away_from_zero(x, gap=0.05):
    """Keep values off a kink at 0 (relu, leaky relu), so finite differences stay on one side."""
    return x + gap * np.sign(x)


def _distinct(rng, shape, scale=0.1):
    """Values at least `scale` apart (no near ties): max pooling stays differentiable."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - np.prod(shape) / 2) * scale


def _labels(rng, n, classes):
    return rng.integers(0, classes, size=n)


# ----------------------------------------------------------------------------- make_args per layer

def affine_args(rng):
    return [rng.standard_normal((3, 2, 3)), rng.standard_normal((6, 4)), rng.standard_normal(4)]


def affine_flat_args(rng):
    return [rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)]


def affine_square_args(rng):
    """w is (4, 4): a transposed dw has the right shape."""
    return [rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 4)), rng.standard_normal(4)]


def relu_args(rng):
    return [_away_from_zero(rng.standard_normal((3, 5)))]


def leaky_relu_args(rng):
    return [_away_from_zero(rng.standard_normal((3, 5))), 0.1]


def activation_args(rng):
    return [2 * rng.standard_normal((3, 4))]


def linear_sum_args(rng):
    return [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]


def batchnorm_args(rng, mode="train"):
    D = 4
    bn_param = {"mode": mode, "eps": 1e-5, "momentum": 0.9,
                "running_mean": rng.standard_normal(D), "running_var": rng.uniform(0.5, 2.0, D)}
    return [2 * rng.standard_normal((5, D)) + 1, rng.uniform(0.5, 1.5, D), rng.standard_normal(D), bn_param]


def batchnorm_test_args(rng):
    return batchnorm_args(rng, mode="test")


def layernorm_args(rng):
    D = 5
    return [2 * rng.standard_normal((3, D)) - 1, rng.uniform(0.5, 1.5, D), rng.standard_normal(D), {"eps": 1e-5}]


def dropout_args(rng):
    return [rng.standard_normal((4, 5)), {"p": 0.6, "mode": "train", "seed": 123}]


def dropout_unseeded_args(rng):
    return [rng.standard_normal((4, 5)), {"p": 0.6, "mode": "train"}]


def dropout_test_args(rng):
    return [rng.standard_normal((4, 5)), {"p": 0.6, "mode": "test"}]


def spatial_batchnorm_args(rng, gamma_shape=(2,)):
    C = 2
    bn_param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    gamma, beta = rng.uniform(0.5, 1.5, C).reshape(gamma_shape), rng.standard_normal(C).reshape(gamma_shape)
    return [rng.standard_normal((3, C, 3, 4)) + 0.5, gamma, beta, bn_param]


def spatial_batchnorm_gamma4d_args(rng):
    return spatial_batchnorm_args(rng, gamma_shape=(1, 2, 1, 1))


def spatial_groupnorm_args(rng, gamma_shape=(1, 6, 1, 1)):
    C = 6
    gamma, beta = rng.uniform(0.5, 1.5, C).reshape(gamma_shape), rng.standard_normal(C).reshape(gamma_shape)
    return [rng.standard_normal((2, C, 2, 3)) * 1.5, gamma, beta, 3, {"eps": 1e-5}]


def spatial_groupnorm_gamma1d_args(rng):
    return spatial_groupnorm_args(rng, gamma_shape=(6,))


def conv_args(rng):
    """Stride 2, pad 1, a 5 x 7 image: overlapping windows, non-square output."""
    return [rng.standard_normal((2, 3, 5, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4),
            {"stride": 2, "pad": 1}]


def conv_stride1_args(rng):
    """Stride 1, pad 1 and a non-square 3 x 2 kernel."""
    return [rng.standard_normal((2, 2, 4, 5)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3),
            {"stride": 1, "pad": 1}]


POOL = {"pool_height": 3, "pool_width": 2, "stride": 2}  # non-square, overlapping in height


def max_pool_args(rng):
    return [_distinct(rng, (2, 2, 7, 6)), dict(POOL)]


def max_pool_2x2_args(rng):
    return [_distinct(rng, (2, 3, 4, 6)), {"pool_height": 2, "pool_width": 2, "stride": 2}]


def max_pool_ties_args(rng):
    """Small integers: most windows hold tied maxima (a non-differentiable point)."""
    return [rng.integers(0, 3, size=(2, 2, 7, 6)).astype(float), dict(POOL)]


def avg_pool_args(rng):
    return [rng.standard_normal((2, 2, 7, 6)), dict(POOL)]


def softmax_loss_args(rng):
    return [rng.standard_normal((5, 4)) * 2, _labels(rng, 5, 4)]


def temporal_softmax_loss_args(rng):
    N, T, V = 2, 4, 5
    mask = rng.random((N, T)) < 0.6
    mask[0, 0], mask[1, -1] = True, False  # at least one step kept and one masked
    return [rng.standard_normal((N, T, V)), rng.integers(0, V, size=(N, T)), mask]


def logcosh_loss_args(rng):
    return [2 * rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]


def rnn_step_args(rng):
    N, D, H = 3, 4, 5
    return [rng.standard_normal((N, D)), rng.standard_normal((N, H)), 0.5 * rng.standard_normal((D, H)),
            0.5 * rng.standard_normal((H, H)), 0.5 * rng.standard_normal(H)]


def rnn_args(rng):
    N, T, D, H = 2, 3, 4, 5
    return [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), 0.5 * rng.standard_normal((D, H)),
            0.5 * rng.standard_normal((H, H)), 0.5 * rng.standard_normal(H)]


def word_embedding_args(rng):
    """8 indices into a vocabulary of 5: some word repeats."""
    return [rng.integers(0, 5, size=(2, 4)), rng.standard_normal((5, 3))]


def lstm_step_args(rng):
    N, D, H = 3, 4, 3
    return [rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H)),
            0.5 * rng.standard_normal((D, 4 * H)), 0.5 * rng.standard_normal((H, 4 * H)),
            0.5 * rng.standard_normal(4 * H)]


def lstm_args(rng):
    N, T, D, H = 2, 3, 4, 3
    return [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), 0.5 * rng.standard_normal((D, 4 * H)),
            0.5 * rng.standard_normal((H, 4 * H)), 0.5 * rng.standard_normal(4 * H)]


def temporal_affine_args(rng):
    return [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)]


# ----------------------------------------------------------------------------- the tables

X = ((0,), ("dx",))
XWB = ((0, 1, 2), ("dx", "dw", "db"))
NORM = ((0, 1, 2), ("dx", "dgamma", "dbeta"))
RNN = ((0, 1, 2, 3, 4), ("dx", "dh0", "dWx", "dWh", "db"))


def _case(layer, forward, backward, make_args, signature, deterministic=True):
    return Case(forward, backward, make_args, signature[0], signature[1], layer, deterministic)


CASES = {
    "affine": _case("affine", L.affine_forward, L.affine_backward, affine_args, XWB),
    "affine_flat": _case("affine", L.affine_forward, L.affine_backward, affine_flat_args, XWB),
    "relu": _case("relu", L.relu_forward, L.relu_backward, relu_args, X),
    "leaky_relu": _case("leaky_relu", L.leaky_relu_forward, L.leaky_relu_backward, leaky_relu_args, X),
    "sigmoid": _case("sigmoid", L.sigmoid_forward, L.sigmoid_backward, activation_args, X),
    "tanh": _case("tanh", L.tanh_forward, L.tanh_backward, activation_args, X),
    "swish": _case("swish", L.swish_forward, L.swish_backward, activation_args, X),
    "linear_sum": _case("linear_sum", L.linear_sum_forward, L.linear_sum_backward, linear_sum_args,
                        ((0, 1), ("dx", "dy"))),
    "batchnorm": _case("batchnorm", L.batchnorm_forward, L.batchnorm_backward, batchnorm_args, NORM),
    "batchnorm_test": _case("batchnorm", L.batchnorm_forward, L.batchnorm_backward, batchnorm_test_args, NORM),
    "layernorm": _case("layernorm", L.layernorm_forward, L.layernorm_backward, layernorm_args, NORM),
    "dropout": _case("dropout", L.dropout_forward, L.dropout_backward, dropout_args, X),
    "dropout_test": _case("dropout", L.dropout_forward, L.dropout_backward, dropout_test_args, X),
    "dropout_unseeded": _case("dropout", L.dropout_forward, L.dropout_backward, dropout_unseeded_args, X,
                              deterministic=False),
    "spatial_batchnorm": _case("spatial_batchnorm", L.spatial_batchnorm_forward, L.spatial_batchnorm_backward,
                               spatial_batchnorm_args, NORM),
    "spatial_batchnorm_gamma4d": _case("spatial_batchnorm", L.spatial_batchnorm_forward,
                                       L.spatial_batchnorm_backward, spatial_batchnorm_gamma4d_args, NORM),
    "spatial_groupnorm": _case("spatial_groupnorm", L.spatial_groupnorm_forward, L.spatial_groupnorm_backward,
                               spatial_groupnorm_args, NORM),
    "spatial_groupnorm_gamma1d": _case("spatial_groupnorm", L.spatial_groupnorm_forward,
                                       L.spatial_groupnorm_backward, spatial_groupnorm_gamma1d_args, NORM),
    "conv_naive": _case("conv_naive", L.conv_forward_naive, L.conv_backward_naive, conv_args, XWB),
    "conv_naive_stride1": _case("conv_naive", L.conv_forward_naive, L.conv_backward_naive, conv_stride1_args, XWB),
    "conv_im2col": _case("conv_im2col", L.conv_forward_im2col, L.conv_backward_im2col, conv_args, XWB),
    "conv_im2col_stride1": _case("conv_im2col", L.conv_forward_im2col, L.conv_backward_im2col, conv_stride1_args,
                                 XWB),
    "max_pool": _case("max_pool", L.max_pool_forward, L.max_pool_backward, max_pool_args, X),
    "max_pool_2x2": _case("max_pool", L.max_pool_forward, L.max_pool_backward, max_pool_2x2_args, X),
    "avg_pool": _case("avg_pool", L.avg_pool_forward, L.avg_pool_backward, avg_pool_args, X),
    "softmax_loss": _case("softmax_loss", L.softmax_loss, None, softmax_loss_args, X),
    "svm_loss": _case("svm_loss", L.svm_loss, None, softmax_loss_args, X),
    "temporal_softmax_loss": _case("temporal_softmax_loss", L.temporal_softmax_loss, None,
                                   temporal_softmax_loss_args, X),
    "logcosh_loss": _case("logcosh_loss", L.logcosh_loss, None, logcosh_loss_args, X),
    "rnn_step": _case("rnn_step", L.rnn_step_forward, L.rnn_step_backward, rnn_step_args,
                      ((0, 1, 2, 3, 4), ("dx", "dprev_h", "dWx", "dWh", "db"))),
    "rnn": _case("rnn", L.rnn_forward, L.rnn_backward, rnn_args, RNN),
    "word_embedding": _case("word_embedding", L.word_embedding_forward, L.word_embedding_backward,
                            word_embedding_args, ((1,), ("dW",))),
    "lstm_step": _case("lstm_step", L.lstm_step_forward, L.lstm_step_backward, lstm_step_args,
                       ((0, 1, 2, 3, 4, 5), ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"))),
    "lstm": _case("lstm", L.lstm_forward, L.lstm_backward, lstm_args, RNN),
    "temporal_affine": _case("temporal_affine", L.temporal_affine_forward, L.temporal_affine_backward,
                             temporal_affine_args, XWB),
}

LAYERS = sorted({case.layer for case in CASES.values()})

# Bugs that show only on particular arguments; every other bug uses its layer's main case.
_BUG_ARGS = {
    "affine_dw_transposed": affine_square_args,
    "conv_naive_kernel_not_flipped": conv_stride1_args,
    "max_pool_ties_to_all": max_pool_ties_args,
}
BUG_CASES = {bug.name: _BUG_ARGS.get(bug.name, CASES[bug.layer].make_args) for bug in B.BUGS}

# Bug cases whose arguments sit on a kink, where finite differences are no reference: there the
# reference is the convention every framework follows (the first maximum of a window gets the gradient).
AT_A_KINK = {"max_pool_ties_to_all"}


# ----------------------------------------------------------------------------- the student's module

class CourseCase(NamedTuple):
    forward: Callable
    backward: Optional[Callable]
    make_args: Callable
    differentiable: tuple
    status: str  # "correct" or what is wrong, see COURSE_STATUSES
    reference: Optional[str]  # the CASES entry computing the same function, if any


COURSE_STATUSES = {
    "correct": "forward and backward right",
    "pass_body": "the backward's body is `pass`: returns None",
    "returns_none": "the backward computes dx but has no return statement",
    "not_implemented": "the backward raises NotImplementedError",
    "zeros": "the backward returns all zeros",
    "python2": "the forward uses xrange: NameError, only when called",
    "backward_raises": "the backward raises (ValueError unpacking its cache)",
    "mutates_input": "the forward overwrites its input x in place (values and gradient otherwise right)",
    "prints": "forward and backward print (values and gradient right)",
    "unseeded_random": "the forward draws unseeded random numbers (gradient right for the noise drawn)",
}


def _elu_args(rng):
    return [_away_from_zero(rng.standard_normal((3, 4))), 1.0]


def _noise_args(rng):
    return [rng.standard_normal((3, 4)), {"std": 0.1, "mode": "train"}]


def _dropout_course_args(rng):
    return [rng.standard_normal((4, 5)), {"p": 0.6, "mode": "train", "seed": 7}]


COURSE = {
    "affine": CourseCase(S.affine_forward, S.affine_backward, affine_args, (0, 1, 2), "correct", "affine"),
    "relu": CourseCase(S.relu_forward, S.relu_backward, relu_args, (0,), "correct", "relu"),
    "affine_relu": CourseCase(S.affine_relu_forward, S.affine_relu_backward, affine_args, (0, 1, 2), "correct", None),
    "sigmoid": CourseCase(S.sigmoid_forward, S.sigmoid_backward, activation_args, (0,), "correct", "sigmoid"),
    "softmax_loss": CourseCase(S.softmax_loss, None, softmax_loss_args, (0,), "correct", "softmax_loss"),
    # the student's max_pool_forward fails (xrange); their backward is right, shown with the zoo's forward
    "max_pool_backward_only": CourseCase(L.max_pool_forward, S.max_pool_backward, max_pool_args, (0,), "correct",
                                         "max_pool"),
    "tanh": CourseCase(S.tanh_forward, S.tanh_backward, activation_args, (0,), "pass_body", "tanh"),
    "dropout": CourseCase(S.dropout_forward, S.dropout_backward, _dropout_course_args, (0,), "returns_none", None),
    "batchnorm": CourseCase(S.batchnorm_forward, S.batchnorm_backward, batchnorm_args, (0, 1, 2), "not_implemented",
                            "batchnorm"),
    "avg_pool": CourseCase(S.avg_pool_forward, S.avg_pool_backward, avg_pool_args, (0,), "zeros", "avg_pool"),
    "max_pool": CourseCase(S.max_pool_forward, S.max_pool_backward, max_pool_args, (0,), "python2", "max_pool"),
    "leaky_relu": CourseCase(S.leaky_relu_forward, S.leaky_relu_backward, leaky_relu_args, (0,), "backward_raises",
                             "leaky_relu"),
    "elu": CourseCase(S.elu_forward, S.elu_backward, _elu_args, (0,), "mutates_input", None),
    "swish": CourseCase(S.swish_forward, S.swish_backward, activation_args, (0,), "prints", "swish"),
    "gaussian_noise": CourseCase(S.gaussian_noise_forward, S.gaussian_noise_backward, _noise_args, (0,),
                                 "unseeded_random", None),
}
