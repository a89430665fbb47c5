"""The chain rule through E's graph (:mod:`gradproof.derive.symbolic.chain`) is ``sympy.diff``: its
derivatives, in symengine (the exact proof) and compiled to numpy (the direct form), are sympy.diff's, and
the proofs' verdicts with either backend are unchanged (correct recurrences proven, planted mistakes
refuted at the same weights)."""

import numpy as np
import pytest
import sympy as sp

from gradproof.derive.model.network import Network
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic.chain import ChainRule, Unsupported
from gradproof.derive.symbolic.functions import LAMBDIFY_MODULES
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import direct_gradients
from gradproof.numeric.compiled.direct import compile_direct, direct_source
from gradproof.numeric.compiled.lambdified import DIRECT_LIMIT, CompiledGradient, direct_feasible
from gradproof.numeric.differences.error_model import error_model
from gradproof.numeric.samples import random_sample

NETWORKS = [
    Network.from_spec("2,2,2", "generic", "half-sse"),
    Network.from_spec("2,2,3", "generic", "softmax-ce"),
    Network.from_spec("2,2,2", "tanh,sigmoid", "bce"),
    Network.from_spec("2,2,3", "relu,identity", "mse"),
    Network.from_spec("2,3,2", "softplus,sigmoid", "half-sse", bias=False),
]
NUMERIC = [n for n in NETWORKS if all(a.has_numpy_form for a in n.activations)] + [
    pytest.param(Network.from_spec("3,5,4,2", "sigmoid", "half-sse"), marks=pytest.mark.slow),
    pytest.param(Network.from_spec("3,4,3", "tanh,softmax", "softmax-ce"), marks=pytest.mark.slow),
]


class SympyAlgebra:
    """The chain rule's derivatives as sympy expressions (the test's own reading of the rules)."""

    zero, one = sp.Integer(0), sp.Integer(1)

    def __init__(self, rule=lambda node: node.fdiff(1)):
        self.rule = rule

    def value(self, node):
        return node

    def add(self, terms):
        return sp.Add(*terms)

    def mul(self, factors):
        return sp.Mul(*factors)

    def power_rule(self, base, exponent):
        return exponent * base ** (exponent - 1)


def _chain(network, algebra):
    sym = SymbolicNetwork(network)
    return sym, ChainRule(sym.error, algebra).derivatives(sym.weight_symbols)


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.spec())
def test_the_chain_rule_is_sympy_diff_of_e(network):
    sym, found = _chain(network, SympyAlgebra())
    differences = [d - sp.diff(sym.error, w) for d, w in zip(found, sym.weight_symbols)]
    assert all(decision.is_zero for decision in decide_zero(differences))


def test_a_wrong_function_rule_makes_it_differ_from_sympy_diff():  # the comparison above can fail
    sym, found = _chain(Network.from_spec("2,2,1", "generic"), SympyAlgebra(rule=lambda node: node))  # f' = f
    differences = [d - sp.diff(sym.error, w) for d, w in zip(found, sym.weight_symbols)]
    assert not any(decision.is_zero for decision in decide_zero(differences))


def test_what_the_chain_rule_does_not_take_is_said():
    t, w = sp.symbols("t w")
    rule = ChainRule(sp.Abs(w * t) + w ** w, SympyAlgebra())
    with pytest.raises(Unsupported):
        rule.derivative(w)
    assert rule.derivative(sp.Symbol("elsewhere")) == 0 and ChainRule(w, SympyAlgebra()).derivative(w) == 1


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.spec())
def test_the_symengine_derivatives_are_sympy_diff_of_e(network):
    pytest.importorskip("symengine")
    from gradproof.derive.proof.symengine_backend import Differentiated
    sym = SymbolicNetwork(network)
    fast = Differentiated(sym.error, sym.weight_symbols, lambda expr: False)
    differences = [fast.convert.back(d) - sp.diff(sym.error, w) for d, w in zip(fast.derivatives, sym.weight_symbols)]
    assert all(decision.is_zero for decision in decide_zero(differences))


def _old_direct(network):
    """The direct form as it was compiled before the chain rule: sympy.diff per weight, lambdified."""
    sym = SymbolicNetwork(network)
    entries = [entry for matrix in direct_gradients(sym) for entry in matrix]
    args = [[list(sym.wbar[l].row(r)) for r in range(sym.wbar[l].rows)] for l in range(len(sym.wbar))]
    return sp.lambdify([args, list(sym.x), list(sym.y)], entries, modules=LAMBDIFY_MODULES, cse=True)


@pytest.mark.parametrize("network", NUMERIC, ids=lambda n: getattr(n, "spec", lambda: None)())
def test_the_compiled_direct_form_gives_sympy_diffs_values(network):
    sample = random_sample(network, seed=5, batch=3)
    x, y = sample.columns()
    ours = compile_direct(SymbolicNetwork(network))([np.asarray(w) for w in sample.wbar], list(x), list(y))
    old = _old_direct(network)([np.asarray(w) for w in sample.wbar], list(x), list(y))
    # each is an analytic gradient in float64, within the error model's rounding bound of the truth (per
    # sample: the bound of the sum over one sample)
    for b in range(3):
        bounds = np.concatenate([np.ravel(t) for t in error_model(network, sample.wbar, x[:, [b]], y[:, [b]])
                                 .analytic_rounding("sum")])
        mine = np.array([np.broadcast_to(v, (3,))[b] for v in ours])
        theirs = np.array([np.broadcast_to(v, (3,))[b] for v in old])
        assert np.all(np.abs(mine - theirs) <= 2 * bounds)


def test_a_different_error_gives_a_different_direct_form():  # the comparison above can fail
    half, mse = Network.from_spec("2,3,3", loss="half-sse"), Network.from_spec("2,3,3", loss="mse")
    sample = random_sample(half, seed=5)
    x, y = sample.columns()
    ours = compile_direct(SymbolicNetwork(mse))([np.asarray(w) for w in sample.wbar], list(x), list(y))
    old = _old_direct(half)([np.asarray(w) for w in sample.wbar], list(x), list(y))
    bounds = np.concatenate([np.ravel(t) for t in error_model(half, sample.wbar, x, y).analytic_rounding("sum")])
    assert np.any(np.abs(np.ravel(ours) - np.ravel(old)) > 2 * bounds)


def test_the_direct_form_is_there_up_to_its_limit_and_shows_its_source():
    assert direct_feasible(Network.from_spec("3,5,4,2")) and direct_feasible(Network.from_spec("8,16,16,8"))
    assert not direct_feasible(Network.from_spec("30,20,10")) and DIRECT_LIMIT >= 500
    source = CompiledGradient(Network.from_spec("3,5,4,2"), "direct").source
    assert source.startswith("def _lambdifygenerated(wbar, x, y):") and "sigmoid" in source
    assert "return [" in direct_source(SymbolicNetwork(Network.from_spec("2,1")))


LARGER = [pytest.param("3,4,3", id="3,4,3"), pytest.param("3,4,4,2", id="3,4,4,2", marks=pytest.mark.slow)]


@pytest.mark.parametrize("layers", LARGER)
@pytest.mark.parametrize("backend", ["sympy", "symengine"])
def test_verdicts_on_a_larger_network_are_unchanged(backend, layers):
    if backend == "symengine":
        pytest.importorskip("symengine")
    network = Network.from_spec(layers, "sigmoid", "half-sse")
    assert prove(network, backend=backend).ok
    mistake = MISTAKES["missing-a-prime"]
    proof = prove(network, mistake.recurrence, diagnose=False, backend=backend)
    refuted = {str(w.weight) for w in proof.weights if w.status == "refuted"}
    assert {str(w) for w in mistake.affected(network)} <= refuted
    assert all(w.status in ("proven", "refuted") for w in proof.weights)


@pytest.mark.parametrize("layers", [pytest.param("2,3,3", id="2,3,3"), *LARGER[1:]])
def test_both_backends_give_the_same_verdicts_on_other_networks(layers):
    pytest.importorskip("symengine")
    network = Network.from_spec(layers, "generic", "mse")
    for recurrence in (None, MISTAKES["bias-column-kept"].recurrence):
        options = {} if recurrence is None else {"recurrence": recurrence, "diagnose": False}
        reference, fast = prove(network, backend="sympy", **options), prove(network, backend="symengine", **options)
        assert [(str(w.weight), w.status) for w in fast.weights] == \
            [(str(w.weight), w.status) for w in reference.weights]


def test_symengine_clears_a_quotients_denominators_before_expanding():
    se = pytest.importorskip("symengine")
    from gradproof.derive.proof.symengine_backend import _negative_bases, _numerator_is_zero
    u, v, y = se.symbols("u v y")
    total = u + v  # a softmax's Σ e^z: zero only where the denominator is
    correct = u / total - y - ((u * u + u * v) / total ** 2 - y)
    assert se.expand(correct) != 0  # plain expansion cannot see it (the reason for clearing)
    assert _numerator_is_zero(correct, _negative_bases(correct))
    wrong = u / total - y - (u / total ** 2 - y)  # the control: not zero anywhere near generic u, v
    assert not _numerator_is_zero(wrong, _negative_bases(wrong))


@pytest.mark.parametrize("loss", ["softmax-ce", "bce"])
@pytest.mark.sampled(1)
def test_both_backends_agree_on_quotients(loss):
    pytest.importorskip("symengine")
    output = "softmax" if loss == "softmax-ce" else "sigmoid"
    network = Network.from_spec("2,2,3", ["tanh", output], loss)
    for recurrence in (None, MISTAKES["softmax-jacobian-ignored" if loss == "softmax-ce" else "sign-error"].recurrence):
        options = {} if recurrence is None else {"recurrence": recurrence, "diagnose": False}
        reference, fast = prove(network, backend="sympy", **options), prove(network, backend="symengine", **options)
        assert [(str(w.weight), w.status, w.conditions) for w in fast.weights] == \
            [(str(w.weight), w.status, w.conditions) for w in reference.weights]
        assert fast.assumptions == reference.assumptions and fast.ok == (recurrence is None)
