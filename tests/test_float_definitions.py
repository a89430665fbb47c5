"""Decimals in your definitions are exact numbers, and no decision is ever taken over floating point.

A Float in E made sympy round where the proof subtracts the claimed entry from ∂E/∂w: with a loss
0.5·(a − y)², an entry (1 + 2⁻⁶⁰) times the truth cancelled to 0 and was *proven* (exact and layerwise, both
backends); a correct entry written another way was refuted against the rounded derivative. Decimals typed
in a definition are now the numbers as typed (0.01 is 1/100), a sympy Float given to ``define_*`` is the
binary number it holds, and the decision never calls an expression with a Float in it zero."""

import pytest
import sympy as sp

from gradproof import define_activation, define_loss
from gradproof.derive.model.network import Network
from gradproof.derive.proof.canonical import definite_sign
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic.functions import sigmoid
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence

TINY = sp.Rational(1, 2 ** 60)
HALF_SQUARE = define_loss("half_square_decimal", "0.5*(a - y)**2")
CUBE = define_loss("cube_decimal", "0.1*(a - y)**3")


class OutputScaled(PsiRecurrence):
    description = "Ψ at the output times (1 + 2⁻⁶⁰)"

    def output_psi(self, sym):
        return super().output_psi(sym).applyfunc(lambda e: e * (1 + TINY))


def right_in_another_form(sym):
    """The right entries plus (σ(w) + σ(−w) − 1)·x, which is 0."""
    zero = (sigmoid(sym.wbar[0][0, 0]) + sigmoid(-sym.wbar[0][0, 0]) - 1) * sym.x[0]
    return [m.applyfunc(lambda e: e + zero) for m in PSI.gradients(sym)]


@pytest.mark.parametrize("method, backend", [("exact", "sympy"), ("exact", "auto"), ("layerwise", "auto")])
def test_an_entry_off_by_two_to_the_minus_sixty_is_never_proven(method, backend):
    network = Network.from_spec("2,2,1", "sigmoid", HALF_SQUARE)
    assert prove(network, method=method, backend=backend).ok                     # the control: right is proven
    wrong = prove(network, OutputScaled(), method=method, backend=backend)
    assert not wrong.ok and wrong.proven == 0


def test_equal_entries_get_equal_verdicts_with_a_decimal_loss():
    network = Network.from_spec("1,1", "sigmoid", CUBE)
    for recurrence in (lambda sym: PSI.gradients(sym), right_in_another_form):
        assert prove(network, recurrence, backend="sympy").ok


def test_decimals_are_the_numbers_typed_and_floats_the_numbers_held():
    assert not define_loss("typed_decimal", "0.1*(a - y)**2").symbolic.error([sp.Symbol("a")], [0]).has(sp.Float)
    leaky = define_activation("leaky_decimal", "Max(0.01*z, z)")
    assert "Max(z/100, z)" in leaky.description
    held = define_activation("held_float", sp.Float(0.1) * sp.Symbol("z"))
    assert "3602879701896397*z/36028797018963968" in held.description   # 0.1's binary value, exactly


def test_a_float_never_decides_zero_or_a_sign():
    x = sp.Symbol("x")
    rounded = sp.Float(0.5) * x - sp.Rational(1, 2) * x                 # exactly 0 in its binary value
    assert not decide_zero([rounded + sp.Float(1e-30) * x])[0].is_zero
    assert decide_zero([sp.Rational(1, 2) * x - x / 2])[0].is_zero       # the control: exact zero is zero
    assert definite_sign(sp.Float(0.5) * x ** 2 + 1, set()) == 0 and definite_sign(x ** 2 / 2 + 1, set()) == 1
