"""The numerators of the polynomial identity test, built over an expression's graph (derive/proof/ring.py),
checked against sympy's own rational-function arithmetic (``cancel``) on drawn expressions, and the
decision built on them (derive/proof/identity.py) on hidden zeros and near misses."""

import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.proof.ring import NotPolynomial, numerators

x, y, z = sp.symbols("x y z")


def expressions():
    """Sums, products and integer powers (negative ones too) of x, y, z and small rationals, with shared
    subexpressions (a drawn node may be used twice)."""
    leaves = st.sampled_from([x, y, z, sp.Integer(1), sp.Integer(2), sp.Rational(-1, 3)])

    def grow(children):
        pairs = st.tuples(children, children)
        return st.one_of(pairs.map(lambda p: p[0] + p[1]), pairs.map(lambda p: p[0] * p[1]),
                         pairs.map(lambda p: p[0] - p[1]), children.map(lambda e: e + e * e),
                         st.tuples(children, st.integers(-2, 3)).map(lambda p: p[0] ** p[1]))

    return st.recursive(leaves, grow, max_leaves=12)


@given(expressions(), expressions())
def test_the_numerator_is_zero_exactly_when_sympy_cancels_the_difference_to_zero(left, right):
    difference = left - right
    assume(not difference.has(sp.zoo, sp.nan, sp.oo))
    truth = sp.cancel(sp.together(difference)) == 0
    assert (numerators([difference])[0] == 0) == truth


@given(expressions())
def test_an_expression_equals_its_numerator_over_its_denominators(expr):
    """e − e is trivially 0; e − (e + 1) never is: both through the ring, so a ring that lost terms or
    invented them fails one of the two."""
    assume(not expr.has(sp.zoo, sp.nan, sp.oo))
    twice = sp.Add(expr, -expr, evaluate=False)
    assert numerators([twice])[0] == 0
    assert numerators([sp.Add(expr, -expr - 1, evaluate=False)])[0] != 0


HIDDEN_ZEROS = [
    (x + 1) ** 2 - x ** 2 - 2 * x - 1,
    x / (x * y + x) - 1 / (y + 1),
    1 / (x + 1) + 1 / (x + 1) ** 2 - (x + 2) / (x + 1) ** 2,
    ((x + y) ** 3 - (x - y) ** 3) / (x ** 2 + y ** 2 / 3) - 6 * y,
]
NEAR_MISSES = [
    (x + 1) ** 2 - x ** 2 - 2 * x,
    x / (x * y + x) - 1 / (y + 2),
    1 / (x + 1) + 1 / (x + 1) ** 2 - (x + 3) / (x + 1) ** 2,
    ((x + y) ** 3 - (x - y) ** 3) / (x ** 2 + y ** 2 / 3) - 6 * y - sp.Rational(1, 10 ** 30),
]


@pytest.mark.parametrize("expr", HIDDEN_ZEROS, ids=str)
def test_hidden_zeros_are_zero(expr):
    assert decide_zero([expr])[0].is_zero


@pytest.mark.parametrize("expr", NEAR_MISSES, ids=str)
def test_near_misses_are_not(expr):
    decision = decide_zero([expr])[0]
    assert not decision.is_zero and decision.residual != 0


def test_function_applications_are_independent_unknowns():
    assert decide_zero([sp.exp(x) * sp.exp(-x) - sp.exp(x) * sp.exp(-x)])[0].is_zero
    assert not decide_zero([sp.exp(x) * sp.exp(y) - sp.exp(x + y)])[0].is_zero   # a relation it does not know


def test_floating_point_numbers_are_their_binary_values_and_never_make_a_zero():
    def unevaluated(number, exact):  # sympy would round number·x − exact·x to a Float before the ring saw it
        return sp.Add(sp.Float(number) * x, -exact * x, evaluate=False)

    assert numerators([unevaluated(0.5, sp.Rational(1, 2))])[0] == 0      # 0.5 is 1/2 exactly
    assert numerators([unevaluated(0.1, sp.Rational(1, 10))])[0] != 0     # 0.1 is not 1/10
    assert not decide_zero([unevaluated(0.5, sp.Rational(1, 2))])[0].is_zero  # but never called an identity


@pytest.mark.parametrize("expr", [sp.sin(x), sp.sqrt(x), sp.zoo * x, sp.Pow(x - x, -1, evaluate=False) * y,
                                  sp.Pow(sp.Integer(0), -1, evaluate=False)], ids=str)
def test_what_the_ring_cannot_hold_is_refused(expr):
    with pytest.raises(NotPolynomial):
        numerators([expr])
