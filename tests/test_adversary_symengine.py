"""What an adversarial round found against the default backend (symengine where installed) and the
definitions, each kept as a regression test with its control."""

import pytest
import sympy as sp

from gradproof import define_loss
from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic.custom import A, Y, parse_definitions
from gradproof.derive.symbolic.recurrence import PsiRecurrence

pytest.importorskip("symengine")


class Looking(sp.Function):
    """A rule that looks at its argument: 2u where u is real (every argument in a network), 3u otherwise."""

    def fdiff(self, argindex=1):
        u = self.args[0]
        return 2 * u if u.is_real else 3 * u


class Written(sp.Function):
    """u², written out at once where u is an atom (so Written(stand-in) is no function application)."""

    @classmethod
    def eval(cls, u):
        return u ** 2 if u.is_Atom else None

    def fdiff(self, argindex=1):
        return 2 * self.args[0]


class ThreeHalves(PsiRecurrence):
    description = "Ψ at the output times 3/2 (wrong)"

    def output_psi(self, sym):
        return sp.Rational(3, 2) * super().output_psi(sym)


def test_a_rule_is_taken_at_each_node_as_sympy_diff_takes_it():
    """The rule had been taken once at a stand-in symbol (3u), so 3/2·Ψ was proven 9/9 by the default
    backend; sympy.diff takes 2u at the real argument, where 3/2·Ψ is not the gradient."""
    network = Network.from_spec("2,2,1", "identity", define_loss("looking", Looking(A - Y), 2 * (A - Y)))
    for backend in ("auto", "sympy"):
        assert not prove(network, ThreeHalves(), backend=backend).proven, backend


def test_a_rule_that_fails_at_a_stand_in_falls_back_to_sympy():
    network = Network.from_spec("2,2,1", "sigmoid", define_loss("written", Written(A - Y), 2 * (A - Y)))
    right = prove(network)
    assert right.ok and not prove(network, ThreeHalves()).ok      # the control: the wrong one is not proven


@pytest.mark.parametrize("text", ["(a-y)**2 + exp.fdiff.__globals__['__builtins__']",
                                  "(a-y)**2 + (lambda: 0)()", "(a-y)**2 + [1][0]", "exp(a, evaluate=False)",
                                  "__import__('os')"])
def test_a_definition_cannot_reach_python(text):
    with pytest.raises(InputError, match="may use numbers, names"):
        parse_definitions([f"l={text}"], frozenset({"l"}))


def test_a_definition_nested_past_the_parser_is_one_clear_error():
    with pytest.raises(InputError, match="nested too deeply"):
        parse_definitions(["l=" + "-" * 100_000 + "a"], frozenset({"l"}))


def test_plain_definitions_still_parse():  # the control for the test above
    found = parse_definitions(["l=Piecewise(((a-y)**2/2, abs(a-y) <= 1), (abs(a-y) - 0.5, True))",
                               "f=Max(0.01*z, -z**2) + Heaviside(z, 1)"], frozenset({"l"}))
    assert set(found) == {"l", "f"}


@pytest.mark.parametrize("term", [sp.zeta(A - Y + 3), sp.floor(A - Y) + (A - Y) ** 2, sp.Mod(A - Y, 3)])
def test_a_loss_numpy_cannot_compute_is_one_clear_error(term):
    with pytest.raises(InputError, match="has no numpy form"):
        define_loss(f"no_numpy_{abs(hash(term)) % 1000}", term)


def test_sign_from_python_is_the_sign_of_a_real_argument():
    network = Network.from_spec("2,2,1", "sigmoid", define_loss("signed_python", sp.sign(A - Y) * (A - Y)))
    assert prove(network, backend="sympy").ok and prove(network).ok
