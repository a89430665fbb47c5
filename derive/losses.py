"""Losses as data: each knows its error E(a, y), its hand-written gradient ∂E/∂a and its numpy form.

``a`` is the output layer's activation, ``y`` the target; E is the error of one sample. A loss that only
makes sense on one kind of output (cross-entropy on a softmax, binary cross-entropy on a sigmoid) names
that output activation, and gives the closed form its Ψ at the output layer collapses to (``a − y``); the
proof shows the collapse holds (see :mod:`derive.lemmas`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derive.activations import log1p
from derive.errors import UnknownNameError

Vector = Sequence[sp.Expr]


@dataclass(frozen=True)
class Loss:
    """One error function E(a, y) and what the rest of gradproof needs to know about it."""

    name: str
    formula: str
    description: str
    error: Callable[[Vector, Vector], sp.Expr] = field(repr=False)
    gradient: Callable[[Vector, Vector], list[sp.Expr]] = field(repr=False)
    np_error: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    np_gradient: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    #: the magnitude of the terms ∂E/∂a is computed from (|a| + |y| for a − y): rounding bounds scale with it
    np_gradient_scale: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(repr=False)
    #: the formula in LaTeX (math mode)
    latex: str = ""
    #: the output activation this loss needs (None: any)
    output_activation: str | None = None
    #: the closed form Ψ at the output collapses to, with ``output_activation`` (None: no collapse)
    collapsed_psi: Callable[[Vector, Vector], list[sp.Expr]] | None = field(default=None, repr=False)
    #: what the targets must be: "any", "unit-interval" or "probabilities" (each y ≥ 0, Σy = 1)
    targets: str = "any"


def _half_sse(a, y):
    return sp.Rational(1, 2) * sp.Add(*((ak - yk) ** 2 for ak, yk in zip(a, y)))


def _mse(a, y):
    return sp.Add(*((ak - yk) ** 2 for ak, yk in zip(a, y))) / len(a)


def _bce(a, y):
    return -sp.Add(*(yk * sp.log(ak) + (1 - yk) * sp.log(1 - ak) for ak, yk in zip(a, y)))


def _cross_entropy(a, y):
    return -sp.Add(*(yk * sp.log(ak) for ak, yk in zip(a, y)))


def _np_log_sigmoid(z):
    """log σ(z) without overflow, analytic in z (for the complex step)."""
    right = np.real(z) >= 0
    return -(np.where(right, 0, -z) + log1p(np.exp(np.where(right, -z, z))))


def _np_bce(z, a, y):
    # log σ(z) and log(1 − σ(z)) = log σ(−z) from the weighted sums: exact where σ saturates
    return -np.sum(y * _np_log_sigmoid(z) + (1 - y) * _np_log_sigmoid(-z), axis=0)


def _np_cross_entropy(z, a, y):
    shift = np.max(np.real(z), axis=0, keepdims=True)
    log_softmax = z - shift - np.log(np.sum(np.exp(z - shift), axis=0, keepdims=True))
    return -np.sum(y * log_softmax, axis=0)


LOSSES: dict[str, Loss] = {
    loss.name: loss for loss in (
        Loss("half-sse", "E = ½·Σₖ (aₖ − yₖ)²",
             "half the sum of squared errors: the error the source text calls the mean squared error",
             _half_sse, lambda a, y: [ak - yk for ak, yk in zip(a, y)],
             lambda z, a, y: 0.5 * np.sum((a - y) ** 2, axis=0), lambda a, y: a - y,
             lambda a, y: np.abs(a) + np.abs(y), latex=r"E = \tfrac12\sum_k (a_k - y_k)^2"),
        Loss("mse", "E = (1/n)·Σₖ (aₖ − yₖ)²",
             "the true mean of the squared errors over the n output units",
             _mse, lambda a, y: [2 * (ak - yk) / len(a) for ak, yk in zip(a, y)],
             lambda z, a, y: np.sum((a - y) ** 2, axis=0) / a.shape[0],
             lambda a, y: 2 * (a - y) / a.shape[0], lambda a, y: 2 * (np.abs(a) + np.abs(y)) / a.shape[0],
             latex=r"E = \tfrac1n\sum_k (a_k - y_k)^2"),
        Loss("bce", "E = −Σₖ [yₖ·log aₖ + (1 − yₖ)·log(1 − aₖ)]",
             "binary cross-entropy on sigmoid outputs, targets in [0, 1]",
             _bce, lambda a, y: [(ak - yk) / (ak * (1 - ak)) for ak, yk in zip(a, y)],
             _np_bce, lambda a, y: (a - y) / (a * (1 - a)),
             lambda a, y: (np.abs(a) + np.abs(y)) / np.abs(a * (1 - a)),
             latex=r"E = -\sum_k \bigl(y_k \log a_k + (1 - y_k)\log(1 - a_k)\bigr)",
             output_activation="sigmoid",
             collapsed_psi=lambda a, y: [ak - yk for ak, yk in zip(a, y)], targets="unit-interval"),
        Loss("softmax-ce", "E = −Σₖ yₖ·log aₖ with a = softmax(z)",
             "cross-entropy on a softmax output layer, targets a probability vector",
             _cross_entropy, lambda a, y: [-yk / ak for ak, yk in zip(a, y)],
             _np_cross_entropy, lambda a, y: -y / a, lambda a, y: np.abs(y / a),
             latex=r"E = -\sum_k y_k \log a_k,\ a = \operatorname{softmax}(z)",
             output_activation="softmax",
             collapsed_psi=lambda a, y: [ak - yk for ak, yk in zip(a, y)], targets="probabilities"),
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
