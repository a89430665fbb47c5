"""Counterexamples: a concrete point where a claimed gradient differs from the direct one.

A refutation needs one. The point draws weights and inputs at random, targets as the loss requires
(probabilities for cross-entropy), evaluates both sides with 40 significant digits, and counts only a
difference far above that precision. For the generic activation the point also fixes a concrete
activation, a(t) = e^(t/2) + sin(t)/3, so the counterexample is a real network.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from gradproof.derive.symbolic.functions import Exp, a, a_prime, explicit, relu, sigmoid, softplus
from gradproof.derive.symbolic.network import SymbolicNetwork

DIGITS = 40
WITNESS_ACTIVATION_TEXT = "a(t) = e^(t/2) + sin(t)/3"


@dataclass(frozen=True)
class Counterexample:
    """Values of the weights, inputs and targets where direct ≠ claimed."""

    point: dict
    direct: sp.Float
    claimed: sp.Float
    activation: str | None = None  # the concrete activation chosen for the generic one

    def describe(self) -> str:
        where = f" with {self.activation}" if self.activation else ""
        return (f"direct {sp.N(self.direct, 8)} ≠ claimed {sp.N(self.claimed, 8)} at a random point{where}")


def random_point(sym: SymbolicNetwork, rng: random.Random) -> dict:
    """A random network: weights and inputs uniform in [−1, 1], targets as the loss requires."""
    def uniform(low, high):
        return sp.Rational(rng.randint(0, 10**6), 10**6) * (high - low) + low

    point = {w: uniform(-1, 1) for w in sym.weight_symbols}
    point.update({x: uniform(-1, 1) for x in sym.x})
    targets = [uniform(0, 1) for _ in sym.y]
    if sym.network.loss.targets == "probabilities":
        total = sum(targets)
        targets = [t / total for t in targets]
    elif sym.network.loss.targets == "any":
        targets = [2 * t - 1 for t in targets]
    point.update(zip(sym.y, targets))
    return point


def evaluate(expr: sp.Expr, point: dict) -> sp.Float:
    """``expr`` at ``point`` with 40 significant digits (mpmath), each shared subexpression once."""
    with mpmath.workdps(DIGITS + 10):
        value = _evaluate(expr, {k: mpmath.mpf(v.p) / v.q for k, v in point.items()}, {})
        return sp.Float(value, DIGITS)


def _evaluate(node, env, cache):
    if node in cache:
        return cache[node]
    if isinstance(node, sp.Piecewise):
        value = next(_evaluate(expr, env, cache) for expr, cond in node.args if _holds(cond, env, cache))
    elif node.is_Symbol:
        value = env[node]
    elif node.is_Number:
        value = mpmath.mpf(node.p) / node.q if node.is_Rational else mpmath.mpf(str(node))
    else:
        args = [_evaluate(arg, env, cache) for arg in node.args]
        if node.is_Add:
            value = mpmath.fsum(args)
        elif node.is_Mul:
            value = mpmath.fprod(args)
        elif node.is_Pow:
            value = mpmath.power(*args)
        elif isinstance(node, sp.Heaviside):
            value = mpmath.mpf(1) if args[0] > 0 else (args[1] if args[0] == 0 else mpmath.mpf(0))
        elif node.func in _MPMATH:
            value = _MPMATH[node.func](*args)
        else:
            value = _by_sympy(node, args)
    cache[node] = value
    return value


_MPMATH = {
    sigmoid: lambda z: 1 / (1 + mpmath.exp(-z)),
    softplus: lambda z: mpmath.log1p(mpmath.exp(z)),
    relu: lambda z: max(z, mpmath.mpf(0)),
    Exp: mpmath.exp, sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh,
    a: lambda t: mpmath.exp(t / 2) + mpmath.sin(t) / 3,
    a_prime: lambda t: mpmath.exp(t / 2) / 2 + mpmath.cos(t) / 3,
}


_COMPARE = {sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
            sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
            sp.Equality: lambda a, b: a == b, sp.Unequality: lambda a, b: a != b}


def _holds(condition, env, cache) -> bool:
    """A Piecewise condition at the point (comparisons, And, Or, Not, True, False)."""
    if condition is sp.true or condition is sp.false:
        return bool(condition)
    if isinstance(condition, sp.And):
        return all(_holds(c, env, cache) for c in condition.args)
    if isinstance(condition, sp.Or):
        return any(_holds(c, env, cache) for c in condition.args)
    if isinstance(condition, sp.Not):
        return not _holds(condition.args[0], env, cache)
    compare = _COMPARE[type(condition)]
    return compare(_evaluate(condition.lhs, env, cache), _evaluate(condition.rhs, env, cache))


def _by_sympy(node, args):
    """A function the table lacks (cosh, erf, Abs, a user's own activation, …), applied to the values of its
    arguments and evaluated by sympy with the same precision. Arguments that are not numbers (the
    conditions of a Piecewise) are evaluated by sympy whole."""
    if any(not isinstance(arg, (mpmath.mpf, mpmath.mpc)) for arg in args) or not node.args:
        raise TypeError(f"cannot evaluate {node.func.__name__} numerically")
    values = [sp.Float(mpmath.nstr(arg, DIGITS + 10), DIGITS + 10) for arg in args]
    result = sp.N(explicit(node.func(*values)), DIGITS + 10)
    if not result.is_number or not result.is_real:
        raise TypeError(f"{node.func.__name__} has no real value at this point")
    return mpmath.mpf(str(result))


def find_counterexample(sym: SymbolicNetwork, direct: sp.Expr, claimed: sp.Expr,
                        seed: int = 0, tries: int = 32) -> Counterexample | None:
    """A point where ``direct`` and ``claimed`` differ by far more than the evaluation's precision."""
    rng = random.Random(seed)
    generic = direct.has(a) or claimed.has(a)
    for _ in range(tries):
        point = random_point(sym, rng)
        left, right = evaluate(direct, point), evaluate(claimed, point)
        scale = max(abs(left), abs(right), sp.Integer(1))
        if abs(left - right) > scale * sp.Float(10) ** (10 - DIGITS):
            return Counterexample(point, left, right, WITNESS_ACTIVATION_TEXT if generic else None)
    return None
