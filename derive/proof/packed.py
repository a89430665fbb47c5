"""Sparse polynomials over ℤ with packed monomials: the arithmetic under the layer proofs' zero test.

A polynomial is a dict {monomial: coefficient} with nonzero int coefficients. A monomial is one int: the
exponent of generator k sits in bits [k·WIDTH, (k+1)·WIDTH), so multiplying two monomials is adding two
ints, whatever the number of generators (sympy's ring adds exponent tuples entry by entry, which is what a
layer with hundreds of symbols spent its time on). The top bit of every field is a guard: exponents stay
below 2^(WIDTH−1), so the sum of two never carries into the next field, and every product is checked for a
set guard bit (an exponent spilling into its neighbour would silently change the polynomial: it raises
instead).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

WIDTH = 24
FIELD = (1 << WIDTH) - 1


class Packed:
    """The polynomials over ℤ in ``count`` generators (one object per ring: it knows the guard bits)."""

    def __init__(self, count: int):
        self.guard = sum(1 << (k * WIDTH + WIDTH - 1) for k in range(count))

    @staticmethod
    def generator(k: int) -> dict:
        return {1 << (k * WIDTH): 1}

    @staticmethod
    def constant(c: int) -> dict:
        return {0: c} if c else {}

    def _checked(self, result: dict) -> dict:
        if reduce(or_, result, 0) & self.guard:   # the OR of the monomials has a guard bit iff one has
            raise ValueError(f"an exponent of {1 << (WIDTH - 1)} or more: beyond the packed monomials' range")
        return result

    def multiply(self, p: dict, q: dict) -> dict:
        if len(p) < len(q):
            p, q = q, p
        if len(q) == 1:
            (m2, c2), = q.items()
            return self._checked({m1 + m2: c1 * c2 for m1, c1 in p.items()})
        result: dict = {}
        get = result.get
        pairs = list(p.items())
        for m2, c2 in q.items():
            for m1, c1 in pairs:
                m = m1 + m2
                result[m] = get(m, 0) + c1 * c2
        return self._checked({m: c for m, c in result.items() if c})

    def power(self, p: dict, n: int) -> dict:
        result, base = {0: 1}, p
        while n:
            if n & 1:
                result = self.multiply(result, base)
            n >>= 1
            if n:
                base = self.multiply(base, base)
        return result

    def reduce_root(self, p: dict, k: int, radicand: dict) -> dict:
        """p with every t_k^e (e ≥ 2) written t_k^(e mod 2)·radicand^(e div 2): its normal form modulo the
        monic relation t_k² = radicand (radicand free of t_k)."""
        shift = k * WIDTH
        powers: dict = {}
        result: dict = {}
        for monomial, coefficient in p.items():
            half = ((monomial >> shift) & FIELD) // 2
            if not half:
                result[monomial] = result.get(monomial, 0) + coefficient
                continue
            if half not in powers:
                powers[half] = self.power(radicand, half)
            base = monomial - ((2 * half) << shift)
            add_into(result, self._checked({base + m: c for m, c in powers[half].items()}), coefficient)
        return stripped(result)


def add_into(total: dict, term: dict, factor: int = 1) -> None:
    """total += factor · term, in place (a new dict per sum would make a long Add quadratic). Cancelled
    monomials stay as zero coefficients: :func:`stripped` removes them."""
    get = total.get
    if factor == 1:
        for monomial, coefficient in term.items():
            total[monomial] = get(monomial, 0) + coefficient
    else:
        for monomial, coefficient in term.items():
            total[monomial] = get(monomial, 0) + factor * coefficient


def stripped(p: dict) -> dict:
    return {m: c for m, c in p.items() if c}


def scaled(p: dict, factor: int) -> dict:
    return p if factor == 1 else {m: c * factor for m, c in p.items()}
