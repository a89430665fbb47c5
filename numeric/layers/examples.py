"""Built-in example arguments for the common layer names, in the usual course conventions.

``EXAMPLES[name]`` lists candidate argument sets as spec lists (:mod:`.arguments`); a check tries them in
order and keeps the first the user's code accepts (gamma given as (C,) or as (1, C, 1, 1), a pooling
window that overlaps or not, a leaky ReLU slope as a number or in a dict). Batches have N > 1, matrices are
not square (a transposed gradient shows), windows overlap and strides exceed 1 where that catches more,
values stay off kinks (``away``, ``distinct``) so that finite differences decide.
"""

from __future__ import annotations

import copy

from gradproof.numeric.layers.arguments import parse_value

BN = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
POOL_3x3 = {"pool_height": 3, "pool_width": 3, "stride": 2}
POOL_2x2 = {"pool_height": 2, "pool_width": 2, "stride": 2}
XWB = ["randn:3,2,3", "randn:6,4", "randn:4"]
CONV = ["randn:2,3,7,7", "randn:4,3,3,3", "randn:4"]
RNN = ["randn:3,5", "randn:4,5:scale=0.5", "randn:5,5:scale=0.5", "randn:5:scale=0.5"]
LSTM = ["randn:4,12:scale=0.5", "randn:3,12:scale=0.5", "randn:12:scale=0.5"]
X = ["randn:3,4:scale=2"]
SCORES = ["randn:5,4:scale=2", "randint:5:high=4"]
REGRESSION = ["randn:4,3:scale=2", "randn:4,3"]

EXAMPLES: dict[str, list[list]] = {
    "affine": [XWB],
    "affine_relu": [XWB],
    "relu": [["away:3,5"]],
    "leaky_relu": [["away:3,5", 0.1], ["away:3,5", {"alpha": 0.1}]],
    "elu": [["away:3,5", 1.0], ["away:3,5", {"alpha": 1.0}]],
    "sigmoid": [X], "tanh": [X], "swish": [X], "gelu": [X], "softplus": [X],
    "batchnorm": [["randn:5,4:scale=2", "positive:4", "randn:4", BN]],
    "layernorm": [["randn:3,5:scale=2", "positive:5", "randn:5", {"eps": 1e-5}]],
    "dropout": [["randn:4,5", {"p": 0.6, "mode": "train", "seed": 123}]],
    "conv": [CONV + [{"stride": 2, "pad": 1}], CONV + [{"stride": 1, "pad": 1}]],
    "conv_relu": [CONV + [{"stride": 2, "pad": 1}], CONV + [{"stride": 1, "pad": 1}]],
    "conv_relu_pool": [["randn:2,3,8,8", "randn:4,3,3,3", "randn:4", {"stride": 1, "pad": 1}, POOL_2x2]],
    "max_pool": [["distinct:2,3,7,7", POOL_3x3], ["distinct:2,3,8,8", POOL_2x2]],
    "avg_pool": [["randn:2,3,7,7", POOL_3x3], ["randn:2,3,8,8", POOL_2x2]],
    "spatial_batchnorm": [["randn:2,3,4,5", "positive:3", "randn:3", BN],
                          ["randn:2,3,4,5", "positive:1,3,1,1", "randn:1,3,1,1", BN]],
    "spatial_groupnorm": [["randn:2,6,3,4", "positive:1,6,1,1", "randn:1,6,1,1", 3, {"eps": 1e-5}],
                          ["randn:2,6,3,4", "positive:6", "randn:6", 3, {"eps": 1e-5}]],
    "softmax_loss": [SCORES],
    "logcosh_loss": [REGRESSION], "huber_loss": [REGRESSION], "mse_loss": [REGRESSION], "l1_loss": [REGRESSION],
    "svm_loss": [SCORES],
    "temporal_softmax_loss": [["randn:2,4,5", "randint:2,4:high=5",
                               [[True, True, False, True], [True, False, True, False]]]],
    "rnn_step": [["randn:3,4"] + RNN],
    "rnn": [["randn:2,3,4", "randn:2,5"] + RNN[1:]],
    "word_embedding": [[[[0, 3, 1, 3], [4, 0, 2, 3]], "randn:5,3"]],
    "lstm_step": [["randn:3,4", "randn:3,3", "randn:3,3"] + LSTM],
    "lstm": [["randn:2,3,4", "randn:2,3"] + LSTM],
    "temporal_affine": [["randn:2,3,4", "randn:4,5", "randn:5"]],
}


def example_name(stem: str) -> str | None:
    """The example a layer called ``stem`` uses: the longest known name it is, or starts with
    (``conv_naive`` → conv, ``max_pool_fast`` → max_pool, ``batchnorm_alt`` → batchnorm)."""
    known = sorted(EXAMPLES, key=len, reverse=True)
    for name in known:
        if stem == name or stem.startswith(name + "_"):
            return name
    return None


def candidates(stem: str, rng) -> list[list]:
    """Candidate argument lists for ``stem`` (empty: no example), drawn from ``rng``."""
    name = example_name(stem)
    if name is None:
        return []
    return [[parse_value(copy.deepcopy(spec), rng, f"{name} example") for spec in specs] for specs in EXAMPLES[name]]
