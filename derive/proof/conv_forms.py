"""What the randomized test of a convolutional network needs from the symbolic forms: each hidden layer's
activation as polynomials (:class:`UnitForms`), the output's ∂E/∂z by the definition and by the recurrence
(:class:`OutputForms`), and a bound on the degree of the identity tested (:func:`degree_bound`).

The degree is counted, not assumed: every input, target, weight, coefficient r_w and unknown a(z), a'(z), …
has degree 1; z[l] = W̄·X̄ one more than X̄[l]; an activation's value, slope and backward rule are
polynomials in (z, the unknowns) whose degrees follow with z weighted by its own degree. Along a path from a
weight of layer l to the output, the direct side multiplies X̄[l], then per layer above a weight and a
slope, then ∂E/∂z at the output; the claimed side the same with the backward rules. Where the output's
expressions are quotients (softmax, cross-entropy), the identity is multiplied by every denominator: the
numerator's degree plus all the denominators'.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.polys.polyerrors import BasePolynomialError

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.forms import activation_form, loss_form
from gradproof.derive.symbolic.symbols import Target


@dataclass(frozen=True)
class UnitForms:
    """A hidden layer's activation as polynomials in (z, g, the unknowns): its value a(z), its slope by
    ``sympy.diff`` (the direct side's) and its backward rule applied to g (the recurrence's)."""

    gens: tuple
    value: sp.Poly
    slope: sp.Poly
    rule: sp.Poly

    @classmethod
    def of(cls, form) -> UnitForms:
        zeta, g = sp.Dummy("z"), sp.Dummy("g")
        value = form.forward([zeta])[0]
        exprs = [value, sp.diff(value, zeta), form.vjp([zeta], [g])[0]]
        applications = sorted(set().union(*(e.atoms(sp.Function) for e in exprs)), key=sp.default_sort_key)
        unknowns = {app: sp.Dummy(f"u{i}") for i, app in enumerate(applications)}
        gens = (zeta, g) + tuple(unknowns.values())
        try:
            polys = [sp.Poly(e.xreplace(unknowns), *gens, domain=sp.QQ) for e in exprs]
        except BasePolynomialError:
            raise InputError("the random method needs activation rules that are polynomials with rational "
                             "coefficients in z, a(z), a'(z), …: this activation's are not; prove it with "
                             "--method exact on a small network") from None
        return cls(gens, *polys)


class OutputLayer:
    """The output layer alone, with its weighted sums as free symbols: what ``output_psi`` reads."""

    def __init__(self, network: Network):
        self.network = network
        self.activations = tuple(activation_form(act) for act in network.activations)
        self.loss = loss_form(network.loss)
        width = network.sizes[-1]
        self.z = (sp.ImmutableMatrix([sp.Symbol(f"zout{k}", real=True) for k in range(1, width + 1)]),)
        self.y = tuple(Target(k) for k in range(1, width + 1))
        self.output = tuple(self.activations[-1].forward(list(self.z[-1])))
        self.error = self.loss.error(self.output, self.y)


@dataclass(frozen=True, eq=False)
class OutputForms:
    """The output layer, and ∂E/∂zₖ there by ``sympy.diff`` of E (direct) and by the recurrence (claimed)."""

    layer: OutputLayer
    direct: tuple
    claimed: tuple

    @classmethod
    def of(cls, network: Network, recurrence) -> OutputForms:
        layer = OutputLayer(network)
        direct = tuple(sp.sympify(sp.diff(layer.error, zeta)) for zeta in layer.z[-1])
        return cls(layer, direct, tuple(sp.sympify(e) for e in recurrence.output_psi(layer)))


def _weighted(poly: sp.Poly, weights) -> int:
    return max((sum(e * w for e, w in zip(monomial, weights)) for monomial in poly.monoms()), default=0)


def _output_degree(output: OutputForms, z_degree: int) -> int:
    """The degree of the output factor once every quotient is cleared: the largest numerator's degree
    plus every denominator's."""
    numerators, denominators = [], []
    for expr in output.direct + output.claimed:
        numerator, denominator = sp.fraction(sp.together(expr))
        applications = sorted(expr.atoms(sp.Function), key=sp.default_sort_key)
        unknowns = {app: sp.Dummy() for app in applications}
        gens = tuple(output.layer.z[-1]) + tuple(output.layer.y) + tuple(unknowns.values())
        weights = [z_degree] * len(output.layer.z[-1]) + [1] * (len(gens) - len(output.layer.z[-1]))
        try:
            numerators.append(_weighted(sp.Poly(numerator.xreplace(unknowns), *gens, domain=sp.QQ), weights))
            denominators.append(_weighted(sp.Poly(denominator.xreplace(unknowns), *gens, domain=sp.QQ), weights))
        except BasePolynomialError:
            raise InputError("the random method needs the loss's ∂E/∂z to be a quotient of polynomials in z, y "
                             "and the activation values: prove it with --method exact on a small network") from None
    return max(numerators) + sum(denominators)


def degree_bound(network: Network, forms: list, output: OutputForms) -> int:
    """The degree of Σ r_w·(∂E/∂w − the recurrence's entry) for the worst layer (module doc)."""
    x_degree, inputs, slopes, rules = 1, [], [], []
    for unit in forms:
        inputs.append(x_degree)
        weights = [1 + x_degree, 0] + [1] * (len(unit.gens) - 2)
        slopes.append(_weighted(unit.slope, weights))
        rules.append(_weighted(unit.rule, weights))
        x_degree = _weighted(unit.value, weights)
    inputs.append(x_degree)
    out = _output_degree(output, 1 + x_degree)
    worst = 0
    for layer in range(network.depth):
        above = max(sum(1 + s for s in slopes[layer:]), sum(1 + r for r in rules[layer:]))
        worst = max(worst, 1 + inputs[layer] + above + out)
    return worst
