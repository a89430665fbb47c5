"""Losses as data: each knows its formula, what its targets must be, and its numpy forms.

``a`` is the output layer's activation, ``y`` the target; E is the error of one sample. A loss that only
makes sense on one kind of output (cross-entropy on a softmax, binary cross-entropy on a sigmoid) names
that output activation, and says whether its Ψ at the output collapses to ``a − y`` there (the proof
shows the collapse holds, :mod:`gradproof.derive.proof.lemmas`). The symbolic forms (E and ∂E/∂a in sympy)
live in :mod:`gradproof.derive.symbolic.forms`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradproof.derive.errors import UnknownNameError
from gradproof.derive.model.kernels import log_sigmoid

#: what the targets of a loss must be
TARGET_KINDS = ("any", "unit-interval", "probabilities")


@dataclass(frozen=True)
class Loss:
    """One error function E(a, y) and what the numeric half needs to know about it."""

    name: str
    formula: str
    description: str
    #: E per sample from the output layer's weighted sums z and activations a (columns are samples)
    np_error: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    #: ∂E/∂a, the hand-written rule
    np_gradient: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    #: the magnitude of the terms ∂E/∂a is computed from (|a| + |y| for a − y): rounding bounds scale with it
    np_gradient_scale: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    #: the formula in LaTeX (math mode)
    latex: str = ""
    #: the output activation this loss needs (None: any)
    output_activation: str | None = None
    #: whether Ψ at the output collapses to a − y with ``output_activation``
    collapses: bool = False
    #: what the targets must be: "any", "unit-interval" or "probabilities" (each y ≥ 0, Σy = 1)
    targets: str = "any"
    #: the symbolic form of a loss defined outside gradproof's table (None: found by name)
    symbolic: object = field(default=None, repr=False, compare=False)

    def collapses_with(self, activation) -> bool:
        """Whether Ψ at the output is a − y for this output activation."""
        return self.collapses and activation.name == self.output_activation


def _np_bce(z, a, y):
    # log σ(z) and log(1 − σ(z)) = log σ(−z) from the weighted sums: exact where σ saturates
    return -np.sum(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z), axis=0)


def _np_cross_entropy(z, a, y):
    shift = np.max(np.real(z), axis=0, keepdims=True)
    log_softmax = z - shift - np.log(np.sum(np.exp(z - shift), axis=0, keepdims=True))
    return -np.sum(y * log_softmax, axis=0)


LOSSES: dict[str, Loss] = {
    loss.name: loss for loss in (
        Loss("half-sse", "E = ½·Σₖ (aₖ − yₖ)²",
             "half the sum of squared errors: the error the source text calls the mean squared error",
             lambda z, a, y: 0.5 * np.sum((a - y) ** 2, axis=0), lambda a, y: a - y,
             lambda a, y: np.abs(a) + np.abs(y), latex=r"E = \tfrac12\sum_k (a_k - y_k)^2"),
        Loss("mse", "E = (1/n)·Σₖ (aₖ − yₖ)²",
             "the true mean of the squared errors over the n output units",
             lambda z, a, y: np.sum((a - y) ** 2, axis=0) / a.shape[0],
             lambda a, y: 2 * (a - y) / a.shape[0], lambda a, y: 2 * (np.abs(a) + np.abs(y)) / a.shape[0],
             latex=r"E = \tfrac1n\sum_k (a_k - y_k)^2"),
        Loss("bce", "E = −Σₖ [yₖ·log aₖ + (1 − yₖ)·log(1 − aₖ)]",
             "binary cross-entropy on sigmoid outputs, targets in [0, 1]",
             _np_bce, lambda a, y: (a - y) / (a * (1 - a)),
             lambda a, y: (np.abs(a) + np.abs(y)) / np.abs(a * (1 - a)),
             latex=r"E = -\sum_k \bigl(y_k \log a_k + (1 - y_k)\log(1 - a_k)\bigr)",
             output_activation="sigmoid", collapses=True, targets="unit-interval"),
        Loss("softmax-ce", "E = −Σₖ yₖ·log aₖ with a = softmax(z)",
             "cross-entropy on a softmax output layer, targets a probability vector",
             _np_cross_entropy, lambda a, y: -y / a, lambda a, y: np.abs(y / a),
             latex=r"E = -\sum_k y_k \log a_k,\ a = \operatorname{softmax}(z)",
             output_activation="softmax", collapses=True, targets="probabilities"),
    )
}


def get_loss(name: str | Loss) -> Loss:
    """The registered loss called ``name``; a clear error lists the known names otherwise."""
    if isinstance(name, Loss):
        return name
    key = str(name).strip().lower()
    if key not in LOSSES:
        raise UnknownNameError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")
    return LOSSES[key]
