"""Activations as data: a name, a description, and the numpy forms the numeric half computes with.

The symbolic forms (the opaque sympy function, its derivative rule, its closed form) live in
:mod:`gradproof.derive.symbolic.forms`, found by name for the built-in activations and carried by the
activation itself (``symbolic``) for one a user defines; the model stays free of sympy so that numeric
work never imports it.

- :class:`Elementwise`: a(z) applied to each unit on its own (the source text's case: Ψ picks up ⊙ a'(z)).
- :class:`Softmax`: a vector function of the whole layer (output layers only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradproof.derive.errors import NetworkSpecError, UnknownNameError
from gradproof.derive.model import kernels


@dataclass(frozen=True)
class Activation:
    """An activation a(z) applied to a layer's weighted sums z; subclasses give the numpy forms."""

    name: str
    description: str
    #: the description in LaTeX (math mode)
    latex: str = ""
    #: the symbolic form of an activation defined outside gradproof's table (None: found by name)
    symbolic: object = field(default=None, repr=False, compare=False)

    def np_forward(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def np_vjp(self, z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The backward rule: (∂a/∂z)ᵀ·g, the Jacobian-transpose of the activation times g."""
        raise NotImplementedError

    def np_vjp_scale(self, z: np.ndarray, a: np.ndarray, g_scale: np.ndarray) -> np.ndarray:
        """The magnitude of the terms the backward rule sums, for terms of g of magnitude ``g_scale``:
        rounding bounds scale with it."""
        raise NotImplementedError

    @property
    def has_numpy_form(self) -> bool:
        return True

    @property
    def is_output_only(self) -> bool:
        """Whether the activation belongs to the output layer only (softmax)."""
        return False


@dataclass(frozen=True)
class Elementwise(Activation):
    """An activation applied to each unit on its own: Ψ picks up ⊙ a'(z)."""

    numpy: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    #: the derivative rule in numpy (the Ψ recurrence's a'); the numeric check is its witness
    np_derivative: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    #: points where a' jumps (a finite difference across one decides nothing)
    kinks: tuple[float, ...] = ()
    #: kinks not located: the printed expressions in z whose zeros they are (a user's Abs(sin(z) − z·cos(z)))
    unlocated_kinks: tuple[str, ...] = ()
    #: those expressions in numpy: z ↦ a list of arrays, one per expression; a kink lies where one is 0
    np_kink_edges: Callable[[np.ndarray], list] | None = field(default=None, repr=False)
    #: the same rule read off a = a(z) (σ·(1 − σ), 1 − tanh²), where it has that form: for real z and a
    #: the kernel's own output there, the very numbers ``np_derivative(z)`` gives, without a(z) again
    np_derivative_of_output: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    def np_forward(self, z):
        self._require_numpy()
        return self.numpy(z)

    def np_vjp(self, z, a, g):
        """g ⊙ a'(z); ``a``, if given, must be ``np_forward(z)`` (it saves computing a(z) again)."""
        self._require_numpy()
        if a is not None and self.np_derivative_of_output is not None and not np.iscomplexobj(z):
            return g * self.np_derivative_of_output(a)
        return g * self.np_derivative(z)

    def np_vjp_scale(self, z, a, g_scale):
        self._require_numpy()
        return g_scale * np.abs(self.np_derivative(z))

    @property
    def has_numpy_form(self) -> bool:
        return self.numpy is not None and self.np_derivative is not None

    def between_unlocated_kinks(self, base, moved) -> np.ndarray:
        """Where an unlocated kink may lie between ``base`` and ``moved`` (real parts): one of its
        expressions is 0 at either end, changes sign, or has no finite value; False without any."""
        crossed = np.zeros(np.broadcast_shapes(np.shape(base), np.shape(moved)), dtype=bool)
        if self.np_kink_edges is None:
            return crossed
        with np.errstate(all="ignore"):
            for before, after in zip(self.np_kink_edges(np.real(base)), self.np_kink_edges(np.real(moved))):
                before, after = np.real(before), np.real(after)
                crossed |= (np.sign(before) != np.sign(after)) | (before == 0) | ~np.isfinite(before * after)
        return crossed

    def _require_numpy(self):
        if not self.has_numpy_form:
            raise NetworkSpecError(
                f"the {self.name} activation is symbolic only: for numbers pick a concrete one: "
                + ", ".join(n for n, act in ACTIVATIONS.items() if act.has_numpy_form and not act.is_output_only))


@dataclass(frozen=True)
class Softmax(Activation):
    """softmax(z)ₖ = e^(zₖ)/Σⱼ e^(zⱼ): not elementwise, its Jacobian is diag(a) − a·aᵀ."""

    def np_forward(self, z):
        shifted = z - np.max(np.real(z), axis=0, keepdims=True)
        e = np.exp(shifted)
        return e / np.sum(e, axis=0, keepdims=True)

    def np_vjp(self, z, a, g):
        return a * (g - np.sum(a * g, axis=0, keepdims=True))

    def np_vjp_scale(self, z, a, g_scale):
        return np.abs(a) * (g_scale + np.sum(np.abs(a) * g_scale, axis=0, keepdims=True))

    @property
    def is_output_only(self) -> bool:
        return True


ACTIVATIONS: dict[str, Activation] = {
    act.name: act for act in (
        Elementwise("sigmoid", "σ(z) = 1/(1 + e^(−z)), σ' = σ·(1 − σ)",
                    r"\sigma(z) = 1/(1 + e^{-z}),\ \sigma' = \sigma\,(1 - \sigma)",
                    numpy=kernels.sigmoid, np_derivative=kernels.sigmoid_derivative,
                    np_derivative_of_output=kernels.sigmoid_derivative_of_output),
        Elementwise("tanh", "tanh(z), tanh' = 1 − tanh²", r"\tanh(z),\ \tanh' = 1 - \tanh^2",
                    numpy=kernels.tanh, np_derivative=kernels.tanh_derivative,
                    np_derivative_of_output=kernels.tanh_derivative_of_output),
        Elementwise("relu", "max(0, z), relu' = H(z) with relu'(0) = 0",
                    r"\max(0, z),\ \operatorname{relu}' = H(z),\ \operatorname{relu}'(0) = 0",
                    numpy=kernels.relu, np_derivative=kernels.relu_derivative, kinks=(0.0,)),
        Elementwise("softplus", "log(1 + e^z), softplus' = σ",
                    r"\log(1 + e^{z}),\ \operatorname{softplus}' = \sigma",
                    numpy=kernels.softplus, np_derivative=kernels.sigmoid),
        Elementwise("identity", "a(z) = z, a' = 1", r"a(z) = z,\ a' = 1",
                    numpy=kernels.identity, np_derivative=kernels.one),
        Elementwise("generic", "an undefined differentiable a(z) with derivative a'(z)",
                    r"a(z)\text{ undefined, with derivative }a'(z)"),
        Softmax("softmax", "softmax(z)ₖ = e^(zₖ)/Σⱼ e^(zⱼ), a vector function (output layers)",
                r"\operatorname{softmax}(z)_k = e^{z_k}/\textstyle\sum_j e^{z_j}"),
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
