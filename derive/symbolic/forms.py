"""The symbolic forms of the activations and losses: what the model's names mean in sympy.

Each built-in activation and loss of :mod:`gradproof.derive.model` has its form here, found by name
(:func:`activation_form`, :func:`loss_form`); one defined outside gradproof carries its own form in its
``symbolic`` field. An elementwise activation is its sympy function: its derivative rule is the one
``sympy.diff`` applies (the function's ``fdiff``), never a second copy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from gradproof.derive.errors import NetworkSpecError
from gradproof.derive.model.activations import Activation
from gradproof.derive.model.losses import Loss
from gradproof.derive.symbolic.functions import EXPLICIT_FORMS, Exp, a, relu, rule, sigmoid, softplus
from gradproof.derive.symbolic.vectors import vmap, vsum, width

Vector = Sequence[sp.Expr]
#: every activation class with a closed form, as each form is made (the prover asks whether a function
#: is real on ℝ through its closed form: :mod:`gradproof.derive.proof.domains`)
CLOSED_FORMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ElementwiseForm:
    """a(z) on each unit: ``function`` is the sympy function, ``closed_form`` its explicit formula (None
    for the generic activation, whose derivative is a' by definition)."""

    function: Callable[[sp.Expr], sp.Expr] = field(repr=False)
    closed_form: Callable[[sp.Expr], sp.Expr] | None = field(default=None, repr=False)

    def __post_init__(self):
        if isinstance(self.function, type) and self.closed_form is not None:
            CLOSED_FORMS[self.function] = self.closed_form

    @property
    def derivative(self) -> Callable[[sp.Expr], sp.Expr]:
        """a'(z): the rule ``sympy.diff`` applies to ``function``, read from it every time (never a copy
        that could outlive a change of the function's ``fdiff``)."""
        return rule(self.function)

    def forward(self, z: Vector) -> list[sp.Expr]:
        return vmap(self.function, z)

    def vjp(self, z: Vector, g: Vector) -> list[sp.Expr]:
        """(∂a/∂z)ᵀ·g = g ⊙ a'(z)."""
        derivative = self.derivative
        return vmap(lambda zi, gi: gi * derivative(zi), z, g)


@dataclass(frozen=True)
class SoftmaxForm:
    """softmax(z)ₖ = e^(zₖ)/Σⱼ e^(zⱼ), with e^z the opaque ``Exp``; its backward rule a ⊙ (g − aᵀg)."""

    def forward(self, z: Vector) -> list[sp.Expr]:
        exps = vmap(Exp, z)
        total = vsum(exps)
        return vmap(lambda e: e / total, exps)

    def vjp(self, z: Vector, g: Vector) -> list[sp.Expr]:
        out = self.forward(z)
        inner = vsum(vmap(lambda ak, gk: ak * gk, out, g))
        return vmap(lambda aj, gj: aj * (gj - inner), out, g)


@dataclass(frozen=True)
class LossForm:
    """E(a, y) and the hand-written ∂E/∂a in sympy; ``collapsed`` the Ψ at the output it collapses to."""

    error: Callable[[Vector, Vector], sp.Expr] = field(repr=False)
    gradient: Callable[[Vector, Vector], list[sp.Expr]] = field(repr=False)
    collapsed: Callable[[Vector, Vector], list[sp.Expr]] | None = field(default=None, repr=False)


def _half_sse(out, y):
    return sp.Rational(1, 2) * vsum(vmap(lambda ak, yk: (ak - yk) ** 2, out, y))


def _mse(out, y):
    return vsum(vmap(lambda ak, yk: (ak - yk) ** 2, out, y)) / width(out)


def _mse_gradient(out, y):
    n = width(out)
    return vmap(lambda ak, yk: 2 * (ak - yk) / n, out, y)


def _bce(out, y):
    return -vsum(vmap(lambda ak, yk: yk * sp.log(ak) + (1 - yk) * sp.log(1 - ak), out, y))


def _cross_entropy(out, y):
    return -vsum(vmap(lambda ak, yk: yk * sp.log(ak), out, y))


def _a_minus_y(out, y):
    return vmap(lambda ak, yk: ak - yk, out, y)


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
    "mse": LossForm(_mse, _mse_gradient),
    "bce": LossForm(_bce, lambda out, y: vmap(lambda ak, yk: (ak - yk) / (ak * (1 - ak)), out, y), _a_minus_y),
    "softmax-ce": LossForm(_cross_entropy, lambda out, y: vmap(lambda ak, yk: -yk / ak, out, y), _a_minus_y),
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
