"""Degree and coefficient-size bounds of an expression, read off its graph (for the random method).

The Schwartz–Zippel lemma bounds the chance that a nonzero polynomial vanishes at a random point by its
degree over the size of the field, and reduction modulo a prime p can only lose a polynomial whose every
coefficient p divides. Both are bounded here on the expression actually tested, without expanding it:
each node of the graph gets a representation N/D (N, D polynomials in the symbols and the function
applications, each application one unknown) with

- ``num``, ``den``: upper bounds on the total degrees of N and D;
- ``height``, ``den_height``: upper bounds on log₂ of the sum of |coefficients| of N and of D,

by the rules for sums (over the product of the denominators), products and integer powers. A power with
another exponent, a function application or a constant such as π is one unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.symbolic.walk import polynomial_children, post_order


@dataclass(frozen=True)
class Degree:
    num: int
    den: int
    height: float
    den_height: float

    def __mul__(self, other: Degree) -> Degree:
        return Degree(self.num + other.num, self.den + other.den, self.height + other.height,
                      self.den_height + other.den_height)

    def power(self, n: int) -> Degree:
        if n >= 0:
            return Degree(n * self.num, n * self.den, n * self.height, n * self.den_height)
        return Degree(-n * self.den, -n * self.num, -n * self.den_height, -n * self.height)


UNKNOWN = Degree(1, 0, 0.0, 0.0)
CONSTANT = Degree(0, 0, 0.0, 0.0)


def log2_sum(values) -> float:
    values = list(values)
    top = max(values)
    return top + math.log2(sum(2.0 ** (v - top) for v in values))


def total(terms: list[Degree]) -> Degree:
    """A sum of terms, over the product of their denominators."""
    den = sum(t.den for t in terms)
    den_height = sum(t.den_height for t in terms)
    num = max(t.num + den - t.den for t in terms)
    height = log2_sum(t.height + den_height - t.den_height for t in terms)
    return Degree(num, den, height, den_height)


def difference(left: Degree, right: Degree) -> Degree:
    return total([left, right])


def _number(node) -> Degree:
    value = sp.Rational(node)
    return Degree(0, 0, math.log2(max(abs(int(value.p)), 1)), math.log2(int(value.q)))


class Degrees:
    """Bounds for the nodes of one or more expressions, each shared node once."""

    def __init__(self):
        self.cache: dict = {}

    def of(self, expr) -> Degree:
        return post_order(expr, self.cache, self._node, polynomial_children)

    def _node(self, node) -> Degree:
        if node.is_Rational:
            return _number(node)
        if node.is_Add:
            return total([self.cache[arg] for arg in node.args])
        if node.is_Mul:
            found = CONSTANT
            for arg in node.args:
                found = found * self.cache[arg]
            return found
        if node.is_Pow and node.exp.is_Integer:
            return self.cache[node.base].power(int(node.exp))
        return UNKNOWN


