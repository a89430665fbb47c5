"""Activations as data: each knows its sympy form, its hand-written derivative and its numpy form.

The sympy forms are opaque function classes (``sigmoid(z)`` rather than ``1/(1 + exp(-z))``): their
derivatives stay compact, print in the source text's notation and can be compared as polynomials in the
activation values. Each opaque class's ``fdiff`` is the hand-written derivative rule, so
:mod:`derive.lemmas` proves every rule against the closed form (``explicit``) by differentiating it.

Adding an activation is a local change: write its opaque class (if sympy has none), then register an
:class:`Elementwise` with its forms in ``ACTIVATIONS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import sympy as sp

from derive.errors import NetworkSpecError, UnknownNameError


# --- opaque sympy functions -------------------------------------------------------------------------

def _sigmoid_derivative(z):
    return sigmoid(z) * (1 - sigmoid(z))


class sigmoid(sp.Function):
    """σ(z) = 1/(1 + e^(−z)); its derivative is σ(z)·(1 − σ(z))."""

    def fdiff(self, argindex=1):
        return _sigmoid_derivative(self.args[0])


class softplus(sp.Function):
    """softplus(z) = log(1 + e^z); its derivative is σ(z)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


class relu(sp.Function):
    """relu(z) = max(0, z); its derivative is H(z) with the convention relu'(0) = H(0) = 0."""

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)


class Exp(sp.Function):
    """e^z kept opaque: sympy's own ``exp`` merges products (e^u·e^v = e^(u+v)), which would hide the
    shared factors of a softmax from the polynomial comparison."""

    def fdiff(self, argindex=1):
        return Exp(self.args[0])


#: The generic activation's derivative: an undefined function, so a proof with ``a`` holds for every
#: differentiable activation.
a_prime = sp.Function("a'")


class a(sp.Function):  # noqa: N801 - the source text's name for the activation
    """The generic activation a(z): undefined, with derivative a'(z)."""

    def fdiff(self, argindex=1):
        return a_prime(self.args[0])


#: Closed forms of the opaque functions: used by the derivative lemmas and to evaluate counterexamples.
EXPLICIT_FORMS: dict[type, Callable] = {
    sigmoid: lambda z: 1 / (1 + sp.exp(-z)),
    softplus: lambda z: sp.log(1 + sp.exp(z)),
    relu: lambda z: sp.Max(0, z),
    Exp: sp.exp,
}


def explicit(expr: sp.Expr) -> sp.Expr:
    """Rewrite every opaque function in ``expr`` by its closed form."""
    for cls, form in EXPLICIT_FORMS.items():
        expr = expr.replace(cls, form)
    return expr


# --- numpy kernels (stable for saturated inputs, analytic for the complex step) ----------------------

def _np_sigmoid(z):
    if np.iscomplexobj(z):
        right = np.real(z) >= 0
        e = np.exp(np.where(right, -z, z))  # never overflows: its real part is <= 0
        return np.where(right, 1 / (1 + e), e / (1 + e))
    e = np.empty(np.shape(z))  # the same formula for real z, in place: the finite differences' hot loop
    np.abs(z, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    r = np.add(e, 1.0, out=np.empty_like(e))
    np.reciprocal(r, out=r)
    np.multiply(e, r, out=e)
    np.copyto(e, r, where=z >= 0)
    return e


def log1p(w):
    """log(1 + w), accurate for small |w| also when w is complex (numpy's complex log1p computes
    log(1 + w) and loses the relative accuracy of its real part, by ~u/|w|)."""
    if not np.iscomplexobj(w):
        return np.log1p(w)
    re, im = np.real(w), np.imag(w)
    return 0.5 * np.log1p(2 * re + re * re + im * im) + 1j * np.arctan2(im, 1 + re)


def _np_tanh(z):
    """tanh, with the imaginary part accurate where tanh saturates (numpy's complex tanh loses its
    relative accuracy there, by ~1e-7 at |z| = 20): tanh(x + iy) = (t(1 + s²) + i·s·sech²x)/(1 + t²s²)
    with t = tanh x, s = tan y, sech x = 2e^(−|x|)/(1 + e^(−2|x|))."""
    if not np.iscomplexobj(z):
        return np.tanh(z)
    x, y = np.real(z), np.imag(z)
    t, s = np.tanh(x), np.tan(y)
    e = np.exp(-np.abs(x))
    sech2 = (2 * e / (1 + e * e)) ** 2
    return (t * (1 + s * s) + 1j * s * sech2) / (1 + t * t * s * s)


def _np_softplus(z):
    right = np.real(z) >= 0
    return np.where(right, z, 0) + log1p(np.exp(np.where(right, -z, z)))


def _np_relu(z):
    return np.where(np.real(z) > 0, z, 0)


def _np_heaviside(z, h0=0):
    return np.where(np.real(z) > 0, 1.0, np.where(np.real(z) == 0, float(h0), 0.0))


#: What the opaque functions mean to ``lambdify``; every compiled form uses this table.
NUMPY_FUNCTIONS: dict[str, Callable] = {
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "relu": _np_relu,
    "Heaviside": _np_heaviside,
    "Exp": np.exp,
    "tanh": _np_tanh,
}
LAMBDIFY_MODULES = [NUMPY_FUNCTIONS, "numpy"]


# --- activations --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Activation:
    """An activation a(z) applied to a layer's weighted sums z; subclasses give the forms."""

    name: str
    description: str
    #: the description in LaTeX (math mode)
    latex: str = ""

    def forward(self, z: Sequence[sp.Expr]) -> list[sp.Expr]:
        raise NotImplementedError

    def vjp(self, z: Sequence[sp.Expr], g: Sequence[sp.Expr]) -> list[sp.Expr]:
        """The backward rule: (∂a/∂z)ᵀ·g, the Jacobian-transpose of the activation times g."""
        raise NotImplementedError

    def np_forward(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_vjp(self, z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_vjp_scale(self, z: np.ndarray, a: np.ndarray, g_scale: np.ndarray) -> np.ndarray:
        """The magnitude of the terms the backward rule sums, for terms of g of magnitude ``g_scale``:
        rounding bounds scale with it."""
        raise NotImplementedError

    @property
    def has_numpy_form(self) -> bool:
        return True


@dataclass(frozen=True)
class Elementwise(Activation):
    """An activation applied to each unit on its own: the source text's case, where Ψ picks up ⊙ a'(z)."""

    function: Callable[[sp.Expr], sp.Expr] = field(default=None, repr=False)
    derivative: Callable[[sp.Expr], sp.Expr] = field(default=None, repr=False)
    closed_form: Callable[[sp.Expr], sp.Expr] | None = field(default=None, repr=False)
    numpy: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    kinks: tuple[float, ...] = ()

    def forward(self, z):
        return [self.function(zi) for zi in z]

    def vjp(self, z, g):
        return [gi * self.derivative(zi) for zi, gi in zip(z, g)]

    @cached_property
    def np_derivative(self) -> Callable[[np.ndarray], np.ndarray]:
        """The hand-written derivative rule, compiled from its sympy form."""
        self._require_numpy()
        t = sp.Symbol("t")
        rule = sp.lambdify(t, self.derivative(t), modules=LAMBDIFY_MODULES)
        return lambda z: rule(z) + np.zeros_like(z)  # constant rules still broadcast

    def np_forward(self, z):
        self._require_numpy()
        return self.numpy(z)

    def np_vjp(self, z, a, g):
        return g * self.np_derivative(z)

    def np_vjp_scale(self, z, a, g_scale):
        return g_scale * np.abs(self.np_derivative(z))

    @property
    def has_numpy_form(self) -> bool:
        return self.numpy is not None

    def _require_numpy(self):
        if self.numpy is None:
            raise NetworkSpecError(
                f"the {self.name} activation has no numeric form; for numbers pick a concrete one: "
                + ", ".join(n for n, act in ACTIVATIONS.items() if act.has_numpy_form and n != "softmax"))


@dataclass(frozen=True)
class Softmax(Activation):
    """softmax(z)ₖ = e^(zₖ)/Σⱼ e^(zⱼ): not elementwise, its Jacobian is diag(a) − a·aᵀ."""

    def forward(self, z):
        exps = [Exp(zi) for zi in z]
        total = sp.Add(*exps)
        return [e / total for e in exps]

    def vjp(self, z, g):
        out = self.forward(z)
        inner = sp.Add(*(ak * gk for ak, gk in zip(out, g)))
        return [aj * (gj - inner) for aj, gj in zip(out, g)]

    def np_forward(self, z):
        shifted = z - np.max(np.real(z), axis=0, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=0, keepdims=True)

    def np_vjp(self, z, a, g):
        return a * (g - np.sum(a * g, axis=0, keepdims=True))

    def np_vjp_scale(self, z, a, g_scale):
        return np.abs(a) * (g_scale + np.sum(np.abs(a) * g_scale, axis=0, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    act.name: act for act in (
        Elementwise(name="sigmoid", description="σ(z) = 1/(1 + e^(−z)), σ' = σ·(1 − σ)",
                    latex=r"\sigma(z) = 1/(1 + e^{-z}),\ \sigma' = \sigma\,(1 - \sigma)",
                    function=sigmoid, derivative=_sigmoid_derivative, closed_form=EXPLICIT_FORMS[sigmoid],
                    numpy=_np_sigmoid),
        Elementwise(name="tanh", description="tanh(z), tanh' = 1 − tanh²",
                    latex=r"\tanh(z),\ \tanh' = 1 - \tanh^2", function=sp.tanh,
                    derivative=lambda z: 1 - sp.tanh(z) ** 2,
                    closed_form=lambda z: (sp.exp(z) - sp.exp(-z)) / (sp.exp(z) + sp.exp(-z)), numpy=_np_tanh),
        Elementwise(name="relu", description="max(0, z), relu' = H(z) with relu'(0) = 0",
                    latex=r"\max(0, z),\ \operatorname{relu}' = H(z),\ \operatorname{relu}'(0) = 0",
                    function=relu, derivative=lambda z: sp.Heaviside(z, 0), closed_form=EXPLICIT_FORMS[relu],
                    numpy=_np_relu, kinks=(0.0,)),
        Elementwise(name="softplus", description="log(1 + e^z), softplus' = σ",
                    latex=r"\log(1 + e^{z}),\ \operatorname{softplus}' = \sigma", function=softplus,
                    derivative=sigmoid, closed_form=EXPLICIT_FORMS[softplus], numpy=_np_softplus),
        Elementwise(name="identity", description="a(z) = z, a' = 1", latex="a(z) = z,\\ a' = 1",
                    function=lambda z: z, derivative=lambda z: sp.Integer(1), closed_form=lambda z: z,
                    numpy=lambda z: z),
        Elementwise(name="generic", description="an undefined differentiable a(z) with derivative a'(z)",
                    latex=r"a(z)\text{ undefined, with derivative }a'(z)", function=a, derivative=a_prime),
        Softmax(name="softmax", description="softmax(z)ₖ = e^(zₖ)/Σⱼ e^(zⱼ), a vector function (output layers)",
                latex=r"\operatorname{softmax}(z)_k = e^{z_k}/\textstyle\sum_j e^{z_j}"),
    )
}


def get_activation(name: str | Activation) -> Activation:
    """The registered activation called ``name``; a clear error lists the known names otherwise."""
    if isinstance(name, Activation):
        return name
    key = str(name).strip().lower()
    if key not in ACTIVATIONS:
        raise UnknownNameError(
            f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]
