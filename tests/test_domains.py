"""Domains: the decision uses only identities valid for the values the expressions take (an audit's false
verdicts, each kept as a regression test with new variants and controls).

- sign(u)² = 1, |u| = sign(u)·u and u² ≥ 0 hold for real u only: √(w − 2), acosh(w), log(w) can be
  complex for real w (sign(√(w − 2))² = −1 for w < 2);
- symengine rewrites (1/X)^(1/2) as X^(−1/2), valid for X > 0 only;
- a condition "u ≠ 0" is stated only where it fails on a null set (sign(w − |w|) is 0 for every w ≥ 0);
- an entry is refuted as undefined only at a network where it is undefined in exact arithmetic.
"""

import pytest
import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof.canonical import shown_real, shown_regional, sign_of
from gradproof.derive.proof.counterexample import exactly_undefined
from gradproof.derive.proof.decide import Judge
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic.forms import CLOSED_FORMS
from gradproof.derive.symbolic.functions import relu, sigmoid
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence

NET = Network.from_spec("2,2,1")
W = sp.Symbol("w", real=True)


def entries(transform):
    """Ψ ⊗ X̄ with every entry e replaced by transform(e, w, z), w the first weight, z a weighted sum."""
    def recurrence(sym):
        w, z = sym.wbar[0][0, 0], sym.z[0][0]
        return [m.applyfunc(lambda e: transform(e, w, z)) for m in PSI.gradients(sym)]
    return recurrence


def hidden_zero(w):
    return (w + 1) ** 2 - w ** 2 - 2 * w - 1


def other_zero(w):
    """Another form of 0 (sympy cancels hidden_zero(w)/hidden_zero(w) to 1 by itself)."""
    return (w - 1) ** 2 - w ** 2 + 2 * w - 1


def never_proven(transform, methods=(("exact", "auto"), ("exact", "sympy"), ("random", "auto"))):
    for method, backend in methods:
        proof = prove(NET, entries(transform), method=method, backend=backend, diagnose=False)
        assert proof.proven == 0, (method, backend, [w.conditions for w in proof.weights])


def all_proven(transform, backend="auto"):
    proof = prove(NET, entries(transform), backend=backend, diagnose=False)
    assert proof.proven == proof.total, [w.reason for w in proof.weights]
    return proof


# 1. real unknowns and S² = 1 only for values shown real

def test_shown_real_follows_the_domains():
    assert not shown_real(sp.sqrt(W - 2)) and not shown_real(sp.acosh(W)) and not shown_real(sp.log(W))
    assert not shown_real(sp.asin(W + 3)) and not shown_real((W ** 3) ** sp.Rational(1, 3))
    assert shown_real(sp.sqrt(W ** 2 + 1)) and shown_real(sp.log(sp.exp(W) + 1)) and shown_real(sp.acosh(W ** 2 + 2))
    assert shown_real(sp.tanh(W) + sp.atan(W) + sigmoid(W) + sp.Abs(W) + sp.sign(W))


def test_a_possibly_complex_square_is_no_positive_denominator():
    assert sign_of(sp.acosh(W) ** 2 + 1)[0] == 0       # acosh(w)² = −acos(w)² for |w| < 1
    assert sign_of(sp.sqrt(W - 2) ** 2 + 1)[0] == 0
    assert sign_of(sp.tanh(W) ** 2 + 1)[0] == 1         # control: a real square
    assert sign_of(sp.acosh(W ** 2 + 2) ** 2 + 1)[0] == 1


@pytest.mark.deferred
def test_sign_squared_of_a_possibly_complex_value_is_not_one():
    never_proven(lambda e, w, z: e * sp.sign(sp.sqrt(w - 2)) ** 2)   # −e for every w < 2
    never_proven(lambda e, w, z: e * sp.sign(sp.acosh(w)) ** 2)      # −e for |w| < 1
    never_proven(lambda e, w, z: e * sp.sign(sp.log(w)) ** 2)        # a variant: complex for w < 0
    never_proven(lambda e, w, z: e + sp.Abs(sp.sqrt(w - 2)) ** 2 - (w - 2))   # |√(w−2)|² = 2 − w for w < 2
    never_proven(lambda e, w, z: e * sp.sign(sp.sqrt(w) - 1) ** 2)     # sign(i·√|w| − 1)² is complex for w < 0


def test_layerwise_does_not_square_a_complex_sign_to_one():
    class Flipped(PsiRecurrence):
        description = "Ψ ⊗ X̄ times sign(acosh(w))²"

        def weight_gradient(self, sym, layer, psi):
            w = sym.wbar[0][0, 0]
            return super().weight_gradient(sym, layer, psi).applyfunc(lambda e: e * sp.sign(sp.acosh(w)) ** 2)

    assert prove(NET, Flipped(), method="layerwise", diagnose=False).proven == 0


def test_sign_squared_of_a_real_value_is_still_one():
    all_proven(lambda e, w, z: e * sp.sign(sp.sqrt(w ** 2 + 1)) ** 2)
    all_proven(lambda e, w, z: e * sp.sign(sp.acosh(w ** 2 + 2)) ** 2)
    proof = all_proven(lambda e, w, z: e * sp.sign(sp.tanh(w)) ** 2)
    assert any(proof.weights[0].conditions)                      # where tanh(w) ≠ 0, stated


# 2. symengine's rewriting of roots, and positivity of possibly complex values

@pytest.mark.deferred
def test_symengine_does_not_settle_a_root_of_a_base_not_shown_positive():
    x = lambda w: sp.acosh(w) ** 2 + 1  # noqa: E731 - negative for w < cos 1
    never_proven(lambda e, w, z: e + (sp.sqrt(1 / x(w)) - 1 / sp.sqrt(x(w))) ** 2)
    never_proven(lambda e, w, z: e + (sp.sqrt(1 / w) * w - sp.sqrt(w)) ** 2)   # symengine: √(1/w)·w = √w


def test_symengine_still_settles_roots_of_positive_bases():
    proof = all_proven(lambda e, w, z: e + (sp.sqrt(1 / (w ** 2 + 1)) - 1 / sp.sqrt(w ** 2 + 1)) ** 2)
    assert proof.backend == "symengine" or proof.backend == "sympy"


# 7. a division by a possibly complex expression keeps its condition

def test_no_unconditional_proof_through_a_complex_denominator():
    x = lambda w: sp.acosh(w) ** 2 + 1  # noqa: E731 - zero at w = cos 1
    for backend in ("auto", "sympy"):
        proof = prove(NET, entries(lambda e, w, z: e * (x(w) + 1) / x(w) - e / x(w)), backend=backend, diagnose=False)
        assert all(w.status != "proven" or w.conditions for w in proof.weights), backend


# 3. a condition is stated only where it fails on a null set

def test_regional_expressions():
    assert shown_regional(W - sp.Abs(W)) and shown_regional(sp.Max(0, W)) and shown_regional(sp.Heaviside(W) - 1)
    assert shown_regional(sp.sqrt(W ** 2 - 1) - W)                     # a root of no known sign
    assert shown_regional(sp.Max(W, W ** 2)) and shown_regional(sp.floor(W))
    assert not shown_regional(W ** 2 - 1) and not shown_regional(sp.tanh(W) + sp.sqrt(W ** 2 + 1))
    v = sp.Symbol("v", real=True)
    assert not shown_regional(sp.sign(W)) and not shown_regional(v + W * relu(v))
    assert not shown_regional(v + W * sp.Max(0, v)) and not shown_regional(W + sp.Abs(v))  # pieces nonzero


@pytest.mark.deferred
def test_a_kink_condition_that_fails_on_a_half_space_is_not_stated():
    never_proven(lambda e, w, z: e * sp.sign(w - sp.Abs(w)) ** 2)     # 0 for every w ≥ 0
    never_proven(lambda e, w, z: e * sp.sign(sp.Abs(w) + w) ** 2)     # 0 for every w ≤ 0
    never_proven(lambda e, w, z: e * sp.sign(sp.Max(0, (w - sp.Rational(1, 3)) ** 2 - sp.Rational(1, 10**18))) ** 2)
    never_proven(lambda e, w, z: e * sp.Heaviside(sp.Min(0, w)) * 2 - e)


def test_a_denominator_that_vanishes_on_a_half_space_is_not_a_condition():
    never_proven(lambda e, w, z: e * (w ** 2 + w * sp.Abs(w)) / (w * (sp.Abs(w) + w)))      # 0/0 for w ≤ 0
    never_proven(lambda e, w, z: e * (w * sp.sign(w) + w) / (w * (sp.sign(w) + 1)))          # 0/0 for w < 0


def test_a_kink_on_a_null_set_is_still_stated():
    proof = all_proven(lambda e, w, z: e * sp.sign(w) ** 2)
    assert proof.weights[0].conditions
    all_proven(lambda e, w, z: e * (w ** 2 - 1) / (w ** 2 - 1))


# 4. refuted as undefined only where undefined in exact arithmetic

def test_a_zero_base_in_a_branch_never_taken_refutes_nothing():
    for transform in (lambda e, w, z: sp.Piecewise((e, sigmoid(z) > 0), (1 / hidden_zero(w), True)),
                      lambda e, w, z: e + (sp.sign(w) ** 2 - 1) ** (w ** 2 + 2)):   # 0^(w²+2) = 0 for w ≠ 0
        for method in ("exact", "random"):
            assert not prove(NET, entries(transform), method=method, diagnose=False).refuted, method


def test_a_zero_base_with_an_exponent_negative_far_out_is_refuted_there():
    proof = prove(NET, entries(lambda e, w, z: e + (sp.sign(w) ** 2 - 1) ** (w + 2)), diagnose=False)
    assert len(proof.refuted) == proof.total   # 0^(w+2) is 0 for w > −2 but a division by zero for w < −2
    for weight in proof.weights:
        found = weight.counterexample
        assert found.claimed is None and exactly_undefined(weight.claimed, found.point)


def test_a_zero_denominator_refutes_where_it_is_exactly_undefined():
    for transform in (lambda e, w, z: e * hidden_zero(w) / other_zero(w), lambda e, w, z: e + 1 / hidden_zero(w)):
        proof = prove(NET, entries(transform), diagnose=False)
        assert len(proof.refuted) == proof.total
        for weight in proof.weights:
            found = weight.counterexample
            assert found.claimed is None and exactly_undefined(weight.claimed, found.point)


def test_the_exact_recheck_decides_the_branch():
    judge = Judge(SymbolicNetwork(NET))
    w, z = judge.sym.wbar[0][0, 0], judge.sym.z[0][0]
    point = {s: sp.Rational(1, 3) for s in judge.sym.weight_symbols + tuple(judge.sym.x) + tuple(judge.sym.y)}
    assert not judge.exactly_undefined(sp.Piecewise((w, sigmoid(z) > 0), (1 / hidden_zero(w), True)), point)
    assert judge.exactly_undefined(sp.Piecewise((w, sigmoid(z) < 0), (1 / hidden_zero(w), True)), point)
    assert judge.exactly_undefined(w + 1 / hidden_zero(w), point)


def test_a_recurrence_that_registers_a_closed_form_is_an_error_and_is_undone():
    """The prover asks whether a function is real through the closed forms on record; a recurrence that
    records one (to make sign(f(w))² = 1 look valid) changes gradproof's tables: an error, undone."""
    before = dict(CLOSED_FORMS)

    def registers(sym):
        CLOSED_FORMS[sp.acosh] = lambda t: t
        return PSI.gradients(sym)

    with pytest.raises(InputError, match="closed forms"):
        prove(Network.from_spec("2,2,1"), registers)
    assert dict(CLOSED_FORMS) == before
