"""How far float64 code can be from the exact value of a traced expression: a first-order running bound.

The proof checks that the user's code on float64 arrays returns what the traced code returns (else the
trace proves nothing about what runs). The two differ by the float code's rounding; this module bounds it,
node by node over the traced DAG at the point (Higham, *Accuracy and Stability of Numerical Algorithms*,
§3.1, the model behind :mod:`gradproof.numeric.differences.error_model`), with u = 2⁻⁵³ and
γ(n) = n·u/(1 − n·u):

- an input or an upstream gradient: exact (the float run uses the same float64 values);
- a rational constant c of the code: 4u·|c| (it is the float the code stores, within 4 ulps);
- a sum of n terms, in any order: Σ δᵢ + γ(n − 1)·Σ|vᵢ|;
- a product of n factors: Σᵢ δᵢ·∏_{j≠i}|vⱼ| + γ(n − 1)·|v|;
- an integer power bᵏ: |k|·|b|^(k−1)·δ_b + γ(|k|)·|v| (a negative k: one more rounding, the division);
- exp, log, tanh, σ, √ and the others: |f'(a)|·δ_a + FUNCTION_ULPS·u·|f(a)|.

First order only, so the comparison allows twice the bound. Where the float code rounds more than the DAG
shows (it computed (x + 10¹⁰) − 10¹⁰ and sympy kept x), the check says *undecided*: never a proof of code
that was not traced.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from gradproof.derive.proof.pointwise import Evaluator

UNIT = mpmath.mpf(2) ** -53
FUNCTION_ULPS = 4


def gamma(n: int):
    return n * UNIT / (1 - n * UNIT) if n > 0 else mpmath.mpf(0)


class RoundingBound:
    """δ(expr): the bound above, at the evaluator's point (memoized per node)."""

    def __init__(self, evaluator: Evaluator):
        self.value = evaluator
        self.memo: dict = {}

    def __call__(self, expr) -> mpmath.mpf:
        with mpmath.workdps(30):
            return self._bound(sp.sympify(expr))

    def _bound(self, node):
        found = self.memo.get(node)
        if found is None:
            found = self.memo[node] = self._rule(node)
        return found

    def _rule(self, node):
        if node.is_Symbol:
            return mpmath.mpf(0)
        if node.is_Number:
            return FUNCTION_ULPS * UNIT * abs(self.value(node))
        args = node.args
        if node.is_Add:
            return mpmath.fsum(self._bound(a) for a in args) + gamma(len(args) - 1) * mpmath.fsum(
                abs(self.value(a)) for a in args)
        if node.is_Mul:
            sizes = [abs(self.value(a)) for a in args]
            spread = mpmath.fsum(self._bound(a) * mpmath.fprod(sizes[:k] + sizes[k + 1:]) for k, a in enumerate(args))
            return spread + gamma(len(args) - 1) * abs(self.value(node))
        if node.is_Pow and node.exp.is_Integer:
            k, base = int(node.exp), node.base
            b = abs(self.value(base))
            return abs(k) * b ** (abs(k) - 1) * (b ** (2 * k) if k < 0 else 1) * self._bound(base) + gamma(
                abs(k) + (k < 0)) * abs(self.value(node))
        if isinstance(node, sp.Function) and len(args) == 1:
            slope = abs(self.value(node.fdiff(1)))
            return slope * self._bound(args[0]) + FUNCTION_ULPS * UNIT * abs(self.value(node))
        return abs(self.value(node))   # anything else: no better bound than its size
