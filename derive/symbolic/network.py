"""The forward phase in sympy: X̄, W̄ and z for every layer, the output a and the error E.

These structures are what printing, LaTeX, the proof and ``lambdify`` all read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from gradproof.derive.model.network import Network, WeightIndex
from gradproof.derive.symbolic import conv
from gradproof.derive.symbolic.forms import ElementwiseForm, LossForm, SoftmaxForm, activation_form, loss_form
from gradproof.derive.symbolic.symbols import Input, Target, Weight


@dataclass(frozen=True, eq=False)
class SymbolicNetwork:
    """A network written out symbolically, one sympy symbol per weight and bias.

    - ``wbar[l]``: W̄[l], a matrix of :class:`Weight` symbols, shape (n_{l+1}, n_l + 1)
    - ``xbar[l]``: X̄[l], the column input of weight layer l: [1; x] for l = 0, [1; a(z[l−1])] above
    - ``z[l]``: W̄[l]·X̄[l], the weighted sums of layer l+1 before the activation
    - ``output``: a(z[L−1]); ``error``: E(output, y)
    """

    network: Network
    #: each layer's activation in sympy (default: the forms of the network's activations); the LaTeX
    #: document passes display forms that print a'(z) as σ'(z)
    forms: tuple[ElementwiseForm | SoftmaxForm, ...] | None = None

    @cached_property
    def activations(self) -> tuple[ElementwiseForm | SoftmaxForm, ...]:
        """Each weight layer's activation, in sympy."""
        return self.forms if self.forms is not None else tuple(
            activation_form(act) for act in self.network.activations)

    @cached_property
    def loss(self) -> LossForm:
        """The loss, in sympy."""
        return loss_form(self.network.loss)

    @cached_property
    def x(self) -> tuple[Input, ...]:
        return tuple(Input(j) for j in range(1, self.network.sizes[0] + 1))

    @cached_property
    def y(self) -> tuple[Target, ...]:
        return tuple(Target(k) for k in range(1, self.network.sizes[-1] + 1))

    @cached_property
    def wbar(self) -> tuple[sp.ImmutableMatrix, ...]:
        net = self.network
        return tuple(
            sp.ImmutableMatrix(*net.shape(l), lambda row, col: Weight(l, col + net.first_source, row + 1))
            for l in range(net.depth))

    @cached_property
    def _forward(self):
        net = self.network
        xbar, z = [self._with_bias(self.x)], []
        for l in range(net.depth):
            dense = net.layers[l].kind != "conv"
            z.append(_product(self.wbar[l], xbar[l]) if dense else conv.weighted_sums(self, l, xbar[l]))
            activated = self.activations[l].forward(list(z[l]))
            if l + 1 < net.depth:
                xbar.append(self._with_bias(activated))
        return tuple(xbar), tuple(z), tuple(activated)

    @property
    def xbar(self) -> tuple[sp.ImmutableMatrix, ...]:
        return self._forward[0]

    @property
    def z(self) -> tuple[sp.ImmutableMatrix, ...]:
        return self._forward[1]

    @property
    def output(self) -> tuple[sp.Expr, ...]:
        return self._forward[2]

    @cached_property
    def error(self) -> sp.Expr:
        return self.loss.error(self.output, self.y)

    def weight(self, index: WeightIndex) -> Weight:
        return Weight(*index)

    @cached_property
    def weight_symbols(self) -> tuple[Weight, ...]:
        """Every weight symbol, in W̄ order."""
        return tuple(w for matrix in self.wbar for w in matrix)

    def activated(self, layer: int) -> list[sp.Expr]:
        """a(z[layer]): the activations of layer ``layer + 1``."""
        if layer + 1 < self.network.depth:
            return list(self.xbar[layer + 1])[self.network.bias:]
        return list(self.output)

    def _with_bias(self, values) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix([sp.Integer(1)] * self.network.bias + list(values))


def _product(matrix: sp.ImmutableMatrix, column: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    """W̄·X̄, each entry the sum of its products (the expression sympy's matrix product gives, built without
    its general machinery: several times faster for wide layers)."""
    entries = list(column)
    return sp.ImmutableMatrix([sp.Add(*(w * x for w, x in zip(matrix.row(r), entries))) for r in range(matrix.rows)])
