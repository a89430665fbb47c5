"""The symbolic forms of the activations and losses: what the model's names mean in sympy.

Each built-in activation and loss of :mod:`gradproof.derive.model` has its form here, found by name
(:func:`activation_form`, :func:`loss_form`); one defined outside gradproof carries its own form in its
``symbolic`` field. An elementwise activation is its sympy function: its derivative rule is the one
``sympy.diff`` applies (the function's ``fdiff``), never a second copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from gradproof.derive.errors import NetworkSpecError
from gradproof.derive.model.activations import Activation
from gradproof.derive.model.losses import Loss
from gradproof.derive.symbolic.functions import EXPLICIT_FORMS, Exp, a, relu, rule, sigmoid, softplus

Vector = Sequence[sp.Expr]


@dataclass(frozen=True)
class ElementwiseForm:
    """a(z) on each unit: ``function`` is the sympy function, ``closed_form`` its explicit formula (None
    for the generic activation, whose derivative is a' by definition)."""

    function: Callable[[sp.Expr], sp.Expr] = field(repr=False)
    closed_form: Callable[[sp.Expr], sp.Expr] | None = field(default=None, repr=False)

    @cached_property
    def derivative(self) -> Callable[[sp.Expr], sp.Expr]:
        """a'(z): the rule ``sympy.diff`` applies to ``function``."""
        return rule(self.function)

    def forward(self, z: Vector) -> list[sp.Expr]:
        return [self.function(zi) for zi in z]

    def vjp(self, z: Vector, g: Vector) -> list[sp.Expr]:
        """(∂a/∂z)ᵀ·g = g ⊙ a'(z)."""
        return [gi * self.derivative(zi) for zi, gi in zip(z, g)]


@dataclass(frozen=True)
class SoftmaxForm:
    """softmax(z)ₖ = e^(zₖ)/Σⱼ e^(zⱼ), with e^z the opaque ``Exp``; its backward rule a ⊙ (g − aᵀg)."""

    def forward(self, z: Vector) -> list[sp.Expr]:
        exps = [Exp(zi) for zi in z]
        total = sp.Add(*exps)
        return [e / total for e in exps]

    def vjp(self, z: Vector, g: Vector) -> list[sp.Expr]:
        out = self.forward(z)
        inner = sp.Add(*(ak * gk for ak, gk in zip(out, g)))
        return [aj * (gj - inner) for aj, gj in zip(out, g)]


@dataclass(frozen=True)
class LossForm:
    """E(a, y) and the hand-written ∂E/∂a in sympy; ``collapsed`` the Ψ at the output it collapses to."""

    error: Callable[[Vector, Vector], sp.Expr] = field(repr=False)
    gradient: Callable[[Vector, Vector], list[sp.Expr]] = field(repr=False)
    collapsed: Callable[[Vector, Vector], list[sp.Expr]] | None = field(default=None, repr=False)


def _half_sse(out, y):
    return sp.Rational(1, 2) * sp.Add(*((ak - yk) ** 2 for ak, yk in zip(out, y)))


def _mse(out, y):
    return sp.Add(*((ak - yk) ** 2 for ak, yk in zip(out, y))) / len(out)


def _bce(out, y):
    return -sp.Add(*(yk * sp.log(ak) + (1 - yk) * sp.log(1 - ak) for ak, yk in zip(out, y)))


def _cross_entropy(out, y):
    return -sp.Add(*(yk * sp.log(ak) for ak, yk in zip(out, y)))


def _a_minus_y(out, y):
    return [ak - yk for ak, yk in zip(out, y)]


ACTIVATION_FORMS: dict[str, ElementwiseForm | SoftmaxForm] = {
    "sigmoid": ElementwiseForm(sigmoid, EXPLICIT_FORMS[sigmoid]),
    "tanh": ElementwiseForm(sp.tanh, lambda z: (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z))),
    "relu": ElementwiseForm(relu, EXPLICIT_FORMS[relu]),
    "softplus": ElementwiseForm(softplus, EXPLICIT_FORMS[softplus]),
    "identity": ElementwiseForm(lambda z: z, lambda z: z),
    "generic": ElementwiseForm(a),
    "softmax": SoftmaxForm(),
}

LOSS_FORMS: dict[str, LossForm] = {
    "half-sse": LossForm(_half_sse, _a_minus_y),
    "mse": LossForm(_mse, lambda out, y: [2 * (ak - yk) / len(out) for ak, yk in zip(out, y)]),
    "bce": LossForm(_bce, lambda out, y: [(ak - yk) / (ak * (1 - ak)) for ak, yk in zip(out, y)], _a_minus_y),
    "softmax-ce": LossForm(_cross_entropy, lambda out, y: [-yk / ak for ak, yk in zip(out, y)], _a_minus_y),
}


def activation_form(activation: Activation) -> ElementwiseForm | SoftmaxForm:
    """The symbolic form of ``activation``: its own, or gradproof's for a built-in name."""
    if activation.symbolic is not None:
        return activation.symbolic
    if activation.name not in ACTIVATION_FORMS:
        raise NetworkSpecError(f"the activation {activation.name!r} has no symbolic form: define it from a "
                               "sympy expression to prove or derive with it")
    return ACTIVATION_FORMS[activation.name]


def loss_form(loss: Loss) -> LossForm:
    """The symbolic form of ``loss``: its own, or gradproof's for a built-in name."""
    if loss.symbolic is not None:
        return loss.symbolic
    if loss.name not in LOSS_FORMS:
        raise NetworkSpecError(f"the loss {loss.name!r} has no symbolic form: define it from a sympy "
                               "expression to prove or derive with it")
    return LOSS_FORMS[loss.name]
