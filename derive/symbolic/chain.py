"""∂E/∂w by the chain rule, through E's expression graph, weight by weight.

``sympy.diff(E, w)`` walks the whole of E for every weight and rebuilds every shared subexpression in
every derivative. Here E is taken apart once into its graph (each distinct subexpression one node, in
an order where a node's arguments come before it), and the derivative of E with respect to one weight
is carried forward through the nodes that depend on that weight only, by the rules ``sympy.diff``
applies: a sum's derivative is the sum of its terms' derivatives, a product's is Σᵢ ∂cᵢ·Πⱼ≠ᵢ cⱼ, a
power with a constant exponent bⁿ gives n·bⁿ⁻¹·∂b, and a function of one argument f(u) gives
f'(u)·∂u with f' its class's own ``fdiff`` (for the opaque functions, their derivative rule; never the
recurrence being proven). Anything else that depends on the weight (an exponent holding it, a function
of several arguments or with a derivative of its own such as Abs, a Piecewise) is :class:`Unsupported`: the caller differentiates that weight by
its general path instead.

What the derivatives are built of is the caller's :class:`Algebra`: symengine expressions for the
exact proof (:mod:`gradproof.derive.proof.symengine_backend`), numpy source lines for the compiled
direct form (:mod:`gradproof.numeric.compiled.direct`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sympy as sp

from gradproof.derive.symbolic.walk import post_order

#: the derivative of the weight with respect to itself (kept apart so that products skip it)
ONE = object()


class Unsupported(ValueError):
    """A node on the weight's path that this chain rule does not differentiate."""


class Algebra(Protocol):
    """What the derivatives are made of: ``value`` of a node of E, sums, products, a constant power's
    derivative n·bⁿ⁻¹ and a function's rule f'(u) at its node."""

    zero: Any
    one: Any

    def value(self, node: sp.Basic) -> Any: ...

    def add(self, terms: list) -> Any: ...

    def mul(self, factors: list) -> Any: ...

    def power_rule(self, base: sp.Basic, exponent: sp.Number) -> Any: ...

    def rule(self, node: sp.Function) -> Any: ...


class Graph:
    """E as a graph: ``nodes`` in an order where a node's arguments come first; ``users[k]``: the
    nodes that take node k as an argument."""

    def __init__(self, expr: sp.Basic):
        self.expr = expr
        self.nodes: list = []
        self.index: dict = {}
        post_order(expr, self.index, self._number, lambda node: node.args)
        self.users: list[list[int]] = [[] for _ in self.nodes]
        for k, node in enumerate(self.nodes):
            for arg in dict.fromkeys(node.args):
                self.users[self.index[arg]].append(k)

    def _number(self, node) -> int:
        """Give ``node`` the next place in graph order."""
        self.nodes.append(node)
        return len(self.nodes) - 1

    def dependents(self, symbol: sp.Symbol) -> list[int]:
        """The nodes whose value depends on ``symbol``, in graph order (``symbol``'s own node first)."""
        if symbol not in self.index:
            return []
        seen = {self.index[symbol]}
        frontier = [self.index[symbol]]
        while frontier:
            k = frontier.pop()
            for user in self.users[k]:
                if user not in seen:
                    seen.add(user)
                    frontier.append(user)
        return sorted(seen)


class ChainRule:
    """∂expr/∂s for any symbol s, in ``algebra``; each node's partial derivatives computed once."""

    def __init__(self, expr: sp.Basic, algebra: Algebra):
        self.graph, self.algebra = Graph(expr), algebra
        self.partials: dict = {}

    def derivative(self, symbol: sp.Symbol):
        """∂expr/∂symbol: ``algebra.zero`` where expr does not depend on it; :class:`Unsupported` where a
        node on the way is not differentiated here."""
        graph, algebra = self.graph, self.algebra
        order = graph.dependents(symbol)
        if not order:
            return algebra.zero
        found = {order[0]: ONE}
        for k in order[1:]:
            args = [graph.index[arg] for arg in graph.nodes[k].args]
            terms = [_times(algebra, self.partial(k, i), found[a]) for i, a in enumerate(args) if a in found]
            found[k] = terms[0] if len(terms) == 1 else algebra.add(terms)
        return algebra.one if found[order[-1]] is ONE else found[order[-1]]

    def partial(self, k: int, i: int):
        """∂node/∂(its i-th argument) for node k, by the rules of ``sympy.diff``."""
        if (k, i) not in self.partials:
            self.partials[k, i] = _partial(self.algebra, self.graph.nodes[k], i)
        return self.partials[k, i]

    def derivatives(self, symbols: Sequence[sp.Symbol]) -> list:
        """∂expr/∂s for every ``s`` in ``symbols``; ``None`` where :class:`Unsupported`."""
        found = []
        for symbol in symbols:
            try:
                found.append(self.derivative(symbol))
            except Unsupported:
                found.append(None)
        return found


def _times(algebra: Algebra, partial, inner):
    """partial · inner, where either may be ONE."""
    if inner is ONE:
        return partial
    if partial is ONE:
        return inner
    return algebra.mul([partial, inner])


def _partial(algebra: Algebra, node: sp.Basic, i: int):
    if node.is_Add:
        return ONE
    if node.is_Mul:
        others = [algebra.value(arg) for j, arg in enumerate(node.args) if j != i]
        return others[0] if len(others) == 1 else algebra.mul(others)
    if node.is_Pow and i == 0 and node.exp.is_Number:
        return algebra.power_rule(node.base, node.exp)
    if isinstance(node, sp.Function) and len(node.args) == 1 and by_fdiff(type(node)):
        return algebra.rule(node)
    raise Unsupported(f"{type(node).__name__} depends on the weight through argument {i + 1}")


def by_fdiff(cls: type) -> bool:
    """Whether ``sympy.diff`` differentiates ``cls`` by its ``fdiff`` (Abs and sign have their own rule)."""
    return next(k for k in cls.__mro__ if "_eval_derivative" in vars(k)) is sp.Function
