"""Hypothesis strategies for the regimes where numeric checks go wrong (issue 9): confident classifiers,
saturated units, tiny and subnormal gradients, large inputs, every loss. Used by the trust tests and the
slow no-false-alarm run."""

import numpy as np
from hypothesis import strategies as st

from gradproof.numeric.compiled.matrix import forward, psi_gradient
from gradproof.numeric.samples import make_sample
from gradproof.numeric.strategies.networks import architectures, networks

SHAPES = architectures(max_depth=4, max_width=6)
CLASSIFIERS = architectures(max_depth=3, max_width=6, min_width=2, losses=["softmax-ce", "bce"])


@st.composite
def confident(draw, shapes=CLASSIFIERS):
    """A classifier whose weights are scaled ×3 … ×30 and whose target is its own prediction (one-hot on the
    argmax for softmax-ce, the rounded output for bce): E is tiny, and log-sum-exp rounds at the scale of 1."""
    sample = draw(networks(architecture=shapes, max_batch=2))
    scale = draw(st.sampled_from([3.0, 10.0, 30.0]))
    wbar = [w * scale for w in sample.wbar]
    x, y = sample.columns()
    output = forward(sample.network, wbar, x, y).output.T
    if sample.network.loss.name == "softmax-ce":
        target = np.eye(output.shape[1])[np.argmax(output, axis=1)]
    else:
        target = (output > 0.5).astype(float)
    return make_sample(sample.network, wbar, sample.x, target.reshape(sample.y.shape))


@st.composite
def tiny_gradients(draw, shapes=SHAPES):
    """Gradients scaled towards underflow: the output layer's weights times 10⁻¹⁵⁰ … 10⁻³⁰⁵, or inputs times
    10⁻¹⁶⁰ (subnormal products on the way)."""
    sample = draw(networks(architecture=shapes, max_batch=2))
    wbar = list(sample.wbar)
    if draw(st.booleans()):
        wbar[-1] = wbar[-1] * 10.0 ** -draw(st.integers(150, 305))
        x = sample.x
    else:
        x = sample.x * 1e-160
    return make_sample(sample.network, wbar, x, sample.y)


#: what underflowing() scales weights, inputs and targets by: 1, 10⁻²⁸⁰ … 10⁻³⁰⁰, subnormal numbers, 0
TINY_SCALES = st.one_of(st.just(1.0), st.integers(280, 300).map(lambda k: 10.0 ** -k),
                        st.sampled_from([1e-305, 1e-308, 1e-310, 1e-315, 1e-320, 5e-324, 0.0]))


@st.composite
def underflowing(draw, shapes=SHAPES):
    """Each layer's weights, the inputs and (where the loss allows) the targets scaled by one of
    ``TINY_SCALES`` on their own: weighted sums, activations, products such as h·w and E itself fall to
    subnormal numbers or to 0 on the way (a scale of 5e-324 leaves ±η or 0)."""
    sample = draw(networks(architecture=shapes, max_batch=2))
    wbar = [w * draw(TINY_SCALES) for w in sample.wbar]
    x = sample.x * draw(TINY_SCALES)
    y = sample.y if sample.network.loss.targets == "probabilities" else sample.y * draw(TINY_SCALES)
    return make_sample(sample.network, wbar, x, y)


def hard_samples(shapes=SHAPES):
    """Every regime at once: ordinary, near ReLU kinks, saturated (weights up to 12 and 40, inputs up to
    100), confident classifiers, tiny and subnormal gradients, underflow anywhere on the way."""
    return st.one_of(
        networks(architecture=shapes, weight_bound=1.0, max_batch=4),
        networks(architecture=shapes, weight_bound=4.0, max_batch=4, kink_margin=0.005),
        networks(architecture=shapes, weight_bound=12.0, max_batch=2),
        networks(architecture=shapes, weight_bound=40.0, input_bound=100.0, max_batch=2),
        confident(),
        tiny_gradients(shapes),
        underflowing(shapes),
    )


def planted(network, layer, index=None, offset=0.0):
    """The Ψ gradient with layer ``layer`` zeroed (index None), or one entry moved by ``offset``: the
    planted errors the no-false-alarm runs must catch."""
    def gradient(wbar, x, y, reduction="mean"):
        grads = psi_gradient(network, wbar, x, y, reduction)
        if index is None:
            grads[layer] = np.zeros_like(grads[layer])
        else:
            grads[layer][index] += offset
        return grads
    return gradient
