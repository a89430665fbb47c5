"""The decision procedure is sound: it proves identities and never declares unequal things equal."""

import sympy as sp

from gradproof.derive.symbolic.functions import Exp, a, a_prime, sigmoid
from gradproof.derive.proof.identity import atomize, decide_zero

x, y, w = sp.symbols("x y w")


def test_true_identities_are_decided_zero():
    identities = [
        sp.diff(a(w * x), w) - x * a_prime(w * x),
        sp.diff(sigmoid(w * x), w) - x * sigmoid(w * x) * (1 - sigmoid(w * x)),
        (x + y) ** 2 - x ** 2 - 2 * x * y - y ** 2,
        Exp(x) / (Exp(x) + Exp(y)) + Exp(y) / (Exp(x) + Exp(y)) - 1,
    ]
    assert [d.is_zero for d in decide_zero(identities)] == [True] * 4


def test_false_identities_are_not():
    wrong = [
        sp.diff(a(w * x), w) - a_prime(w * x),
        sigmoid(x) - sigmoid(y),
        a(x) - a(x + 0 * y) - 1,
        Exp(x) / (Exp(x) + Exp(y)) - 1,
        sp.Rational(1, 10 ** 30),
    ]
    decisions = decide_zero(wrong)
    assert [d.is_zero for d in decisions] == [False] * 5
    assert decisions[0].residual != 0


def test_applications_become_shared_unknowns():
    exprs, back = atomize([a(x) + a(x) * a_prime(x), a(y)])
    assert len(back) == 3
    assert set(back.values()) == {a(x), a_prime(x), a(y)}
    assert all(not e.atoms(sp.Function) for e in exprs)
