"""Hypothesis strategies for networks, for gradproof's tests and for yours.

    from hypothesis import given
    from gradproof.numeric.strategies.networks import architectures, networks

    @given(networks(architecture=architectures(max_width=5, losses=["softmax-ce"])))
    def test_my_backward(drawn):
        assert_backward_correct(my_backward, drawn.network, drawn.wbar, drawn.x, drawn.y)

Every strategy takes keyword-only bounds and checks them before drawing anything: a bad bound raises
``hypothesis.errors.InvalidArgument`` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra.numpy import arrays

from gradproof.derive.model.activations import ACTIVATIONS
from gradproof.derive.model.losses import LOSSES
from gradproof.derive.model.network import Network
from gradproof.numeric.samples import Sample, away_from_kinks, make_sample

#: activations with a numeric form that work in hidden layers
NUMERIC_ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "identity")
#: targets are multiples of 1/TARGET_GRID
TARGET_GRID = 10 ** 6
#: every hidden-layer activation, symbolic ones included
ALL_ACTIVATIONS = NUMERIC_ACTIVATIONS + ("generic",)


def architectures(*, min_depth: int = 1, max_depth: int = 3, min_width: int = 1, max_width: int = 4,
                  activations: Sequence[str] = NUMERIC_ACTIVATIONS,
                  losses: Sequence[str] = tuple(LOSSES),
                  bias: bool | None = None,
                  mixed_activations: bool = True) -> st.SearchStrategy[Network]:
    """Networks (sizes, activations, loss, bias), without weights.

    - ``min_depth``, ``max_depth``: the number of weight layers L, 1 ≤ min_depth ≤ max_depth.
    - ``min_width``, ``max_width``: every layer's size, 1 ≤ min_width ≤ max_width.
    - ``activations``: the hidden-layer activations to draw from (names from ``gradproof.derive.model.activations``).
      The output layer uses them too, except where the loss fixes it (``bce``: sigmoid,
      ``softmax-ce``: softmax).
    - ``losses``: the losses to draw from (names from ``gradproof.derive.model.losses``). A softmax
      cross-entropy gets at least two outputs (over one unit the softmax is 1 and E ≡ 0).
    - ``bias``: True or False for networks with or without bias inputs; None draws both.
    - ``mixed_activations``: allow a different activation per layer (otherwise one for all).
    """
    _check_range("depth", min_depth, max_depth, low=1)
    _check_range("width", min_width, max_width, low=1)
    activations = _check_names("activations", activations, ACTIVATIONS, exclude=("softmax",))
    losses = _check_names("losses", losses, LOSSES)
    if bias not in (None, True, False):
        raise InvalidArgument(f"bias must be True, False or None (both), not {bias!r}")

    @st.composite
    def draw_network(draw) -> Network:
        depth = draw(st.integers(min_depth, max_depth))
        sizes = draw(st.lists(st.integers(min_width, max_width), min_size=depth + 1, max_size=depth + 1))
        loss = LOSSES[draw(st.sampled_from(losses))]
        if loss.output_activation == "softmax" and sizes[-1] == 1:  # a softmax over one unit is 1: E ≡ 0
            assume(max_width >= 2)
            sizes[-1] = draw(st.integers(max(2, min_width), max_width))
        if mixed_activations:
            names = draw(st.lists(st.sampled_from(activations), min_size=depth, max_size=depth))
        else:
            names = [draw(st.sampled_from(activations))] * depth
        if loss.output_activation:
            names[-1] = loss.output_activation
        with_bias = draw(st.booleans()) if bias is None else bias
        return Network.from_spec(sizes, names, loss, bias=with_bias)

    return draw_network()


def _check_range(name: str, low_value, high_value, low: int) -> None:
    for label, value in ((f"min_{name}", low_value), (f"max_{name}", high_value)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{label} must be a whole number, not {value!r}")
        if value < low:
            raise InvalidArgument(f"{label} must be at least {low}, not {value}")
    if low_value > high_value:
        raise InvalidArgument(f"min_{name}={low_value} is larger than max_{name}={high_value}")


def _check_names(label: str, names, known, exclude=()) -> tuple[str, ...]:
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    if not names:
        raise InvalidArgument(f"{label} must name at least one of {', '.join(known)}")
    for name in names:
        if name not in known or name in exclude:
            allowed = [n for n in known if n not in exclude]
            raise InvalidArgument(f"{label}: unknown name {name!r}, choose from {', '.join(allowed)}")
    return names


def networks(*, architecture: st.SearchStrategy[Network] | Network | None = None,
             weight_bound: float = 2.0, input_bound: float = 1.0, max_batch: int | None = None,
             kink_margin: float = 0.02) -> st.SearchStrategy[Sample]:
    """Networks with weights, input and target: :class:`gradproof.numeric.samples.Sample` objects.

    - ``architecture``: a strategy of networks (default :func:`architectures`) or one fixed network.
    - ``weight_bound``: weights are finite floats in [−weight_bound, weight_bound] (larger bounds reach
      saturated activations and tiny gradients). A layer above the first whose weights (bias column aside)
      are all zero is not drawn: it makes every gradient below it exactly 0, which no check can decide;
      nor, without biases, an input that is all zeros.
    - ``input_bound``: inputs are in [−input_bound, input_bound]. Targets follow the loss: probability
      vectors for ``softmax-ce``, [0, 1] for ``bce``, [−1, 1] otherwise, on a grid of 1e-6.
    - ``max_batch``: None draws single samples (x of shape (n0,)); n draws batches of 1 … n samples
      (x of shape (B, n0)).
    - ``kink_margin``: every ReLU unit's weighted sum stays at least this far from 0 for every sample
      (by shifting its bias; networks without biases that come too close are rejected).
    """
    for name, value in (("weight_bound", weight_bound), ("input_bound", input_bound)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e6:
            raise InvalidArgument(f"{name} must be a positive number below 1e6, not {value!r}")
    if max_batch is not None:
        _check_range("batch", 1, max_batch, low=1)
    if not isinstance(kink_margin, (int, float)) or not 0 <= kink_margin < 1:
        raise InvalidArgument(f"kink_margin must be a number in [0, 1), not {kink_margin!r}")
    if isinstance(architecture, Network):
        _require_numeric(architecture)
        architecture = st.just(architecture)
    elif architecture is None:
        architecture = architectures()
    elif not isinstance(architecture, st.SearchStrategy):
        raise InvalidArgument(f"architecture must be a Network or a strategy of them, not {architecture!r}")

    @st.composite
    def draw_sample(draw) -> Sample:
        network = _require_numeric(draw(architecture))
        rows = 1 if max_batch is None else draw(st.integers(1, max_batch))
        wbar = [draw(_floats(shape, weight_bound)) for shape in network.shapes]
        x = draw(_floats((rows, network.sizes[0]), input_bound))
        y = draw(_targets(network, rows))
        assume(away_from_kinks(network, wbar, x.T, kink_margin))
        assume(all(np.any(w[:, int(network.bias):] != 0) for w in wbar[1:]))  # no layer that zeroes all below
        assume(network.bias or np.any(x != 0, axis=1).all())  # nor, without biases, an input of zeros
        if max_batch is None:
            x, y = x[0], y[0]
        return make_sample(network, wbar, x, y)

    return draw_sample()


def _require_numeric(network: Network) -> Network:
    if network.has_conv:
        raise InvalidArgument("networks() supports dense layers only: check a convolutional network with "
                              "check_gradient(random_sample(network, seed=…)) over a few seeds")
    if not all(act.has_numpy_form for act in network.activations):
        raise InvalidArgument(f"networks() needs numeric activations; {network.activation_names} include a "
                              "symbolic one: draw architectures with activations=NUMERIC_ACTIVATIONS")
    return network


def _floats(shape, bound: float):
    return arrays(np.float64, shape, elements=st.floats(-bound, bound, allow_nan=False,
                                                        allow_infinity=False, allow_subnormal=False))


def _targets(network: Network, rows: int):
    """Targets on a grid of 1e-6 (shrinking towards 0): no tiny values like 7.7e-283, which say nothing a
    target of 0 does not and leave gradients below what a finite difference resolves."""
    n = network.sizes[-1]
    if network.loss.targets == "probabilities":
        weights = arrays(np.int64, (rows, n), elements=st.integers(1, 1000))
        return weights.map(lambda p: p / p.sum(axis=1, keepdims=True))
    low = 0 if network.loss.targets == "unit-interval" else -TARGET_GRID
    return arrays(np.int64, (rows, n), elements=st.integers(low, TARGET_GRID)).map(lambda k: k / TARGET_GRID)
