"""∂/∂v of traced expressions: sympy's derivative rules applied once per shared subexpression.

A traced forward phase is a DAG: a recurrent layer's hidden state appears in every later step, a
normalisation's variance in every output. ``sympy.diff`` walks it as a tree, again for every output and
every variable, which is exponential in the depth of the sharing. :class:`Differentiator` applies the same
rules node by node with a memo (the sum rule, the product rule, the power rule for a constant exponent,
and for a function application sympy's own derivative of the function, ``fdiff``, times the chain), and
knows which variables each node contains, so a subexpression free of v is never walked for it. Anything
else is handed to ``sympy.diff``. The tests compare it with ``sympy.diff`` on every kind of node.
"""

from __future__ import annotations

import sympy as sp


class Differentiator:
    """``d(expr, v)``: the derivative of ``expr`` with respect to the symbol ``v``, memoized."""

    def __init__(self):
        self._free: dict = {}
        self._memo: dict = {}

    def free(self, node) -> frozenset:
        """The symbols ``node`` contains (memoized: sympy recomputes free_symbols on every call)."""
        found = self._free.get(node)
        if found is None:
            if node.is_Symbol:
                found = frozenset((node,))
            else:
                found = frozenset().union(*(self.free(arg) for arg in node.args))
            self._free[node] = found
        return found

    def __call__(self, expr, v) -> sp.Expr:
        if v not in self.free(expr):
            return sp.Integer(0)
        key = (expr, v)
        if key not in self._memo:
            self._memo[key] = self._rule(expr, v)
        return self._memo[key]

    def _rule(self, node, v) -> sp.Expr:
        if node.is_Symbol:
            return sp.Integer(1)
        if node.is_Add:
            return sp.Add(*(self(arg, v) for arg in node.args))
        if node.is_Mul:
            factors = node.args
            return sp.Add(*(sp.Mul(*factors[:k], self(f, v), *factors[k + 1:])
                            for k, f in enumerate(factors) if v in self.free(f)))
        if node.is_Pow and v not in self.free(node.exp):
            base, exponent = node.args
            return exponent * base ** (exponent - 1) * self(base, v)
        if isinstance(node, sp.Function) and node.args:
            return sp.Add(*(node.fdiff(k + 1) * self(arg, v) for k, arg in enumerate(node.args)
                            if v in self.free(arg)))
        return sp.diff(node, v)
