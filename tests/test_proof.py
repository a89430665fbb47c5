"""The proof: the Ψ recurrence equals sympy.diff of E for every weight, and mistakes are refuted."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given

from gradproof.derive.model.activations import Elementwise
from gradproof.derive.symbolic.forms import ElementwiseForm
from gradproof.derive.symbolic.functions import LAMBDIFY_MODULES, a, a_prime, sigmoid
from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.recurrence import PSI, direct_gradients
from gradproof.derive.proof.result import PROVEN, REFUTED
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.numeric.strategies.networks import ALL_ACTIVATIONS, architectures

ACTIVATIONS = ["sigmoid", "tanh", "relu", "softplus", "identity", "generic"]
LOSSES = ["half-sse", "mse", "bce", "softmax-ce"]
#: the exact method's backends: sympy, and the default (symengine where it is installed)
BACKENDS = ["sympy", "auto"]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.sampled(4)
def test_source_text_network_is_proven_for_every_activation_and_loss(activation, loss):
    proof = prove(Network.from_spec("2,3,3,2", activation, loss))
    assert (proof.proven, proof.total) == (29, 29)
    assert all(lemma.status == PROVEN for lemma in proof.lemmas)
    assert proof.ok and not proof.refuted and not proof.undecided


def test_without_bias():
    proof = prove(Network.from_spec("2,3,2", "tanh", bias=False))
    assert proof.ok and proof.total == 2 * 3 + 3 * 2


def test_softmax_with_a_squared_error_uses_the_jacobian():
    net = Network.from_spec("2,2,3", "tanh,softmax", "half-sse")
    assert prove(net).ok


def test_softmax_cross_entropy_records_its_assumption_and_collapse():
    proof = prove(Network.from_spec("2,3", "generic", "softmax-ce"))
    assert proof.ok
    assert any("Σₖ yₖ = 1" in text for text in proof.assumptions)
    assert any(lemma.name == "output Ψ collapses" and lemma.status == PROVEN for lemma in proof.lemmas)


#: sympy on drawn networks takes 18 s (auto 1.5 s): under -m slow (tests/test_symengine_backend.py runs both
#: backends on fixed networks and every mistake)
@pytest.mark.parametrize("backend", [pytest.param("sympy", marks=pytest.mark.slow), "auto"])
@given(architectures(max_depth=3, max_width=3, activations=ALL_ACTIVATIONS))
@pytest.mark.deferred
def test_random_architectures_are_proven(backend, network):
    proof = prove(network, backend=backend)
    assert proof.ok, [w.weight for w in proof.refuted + proof.undecided]


def _numeric_value(expr, point):
    t = sp.Symbol("t")
    concrete = expr.replace(a, sp.Lambda(t, sp.exp(t / 2) + sp.sin(t) / 3))
    concrete = concrete.replace(a_prime, sp.Lambda(t, sp.exp(t / 2) / 2 + sp.cos(t) / 3))
    symbols = sorted(point, key=str)
    f = sp.lambdify(symbols, concrete, modules=LAMBDIFY_MODULES)
    return float(f(*[float(point[s]) for s in symbols]))


#: a refuted weight's counterexample comes from the same search whichever backend decided the rest: the
#: default backend by default, sympy's under -m slow
@pytest.mark.parametrize("backend", [pytest.param("sympy", marks=pytest.mark.slow), "auto"])
@pytest.mark.parametrize("activation", ["sigmoid", "generic"])
@pytest.mark.sampled(1)
def test_counterexamples_hold_when_rechecked_in_floating_point(activation, backend):
    network = Network.from_spec("2,3,3,2", activation)
    proof = prove(network, MISTAKES["missing-a-prime"].recurrence, backend=backend)
    for result in proof.refuted[:4]:
        example = result.counterexample
        direct = _numeric_value(result.direct, example.point)
        claimed = _numeric_value(result.claimed, example.point)
        assert direct == pytest.approx(float(example.direct), rel=1e-9, abs=1e-12)
        assert claimed == pytest.approx(float(example.claimed), rel=1e-9, abs=1e-12)
        assert abs(direct - claimed) > 1e-9


def test_a_wrong_activation_rule_is_caught_by_its_lemma_and_by_the_weights():
    class wrong_sigmoid(sp.Function):  # σ with the rule σ' = σ: what sympy.diff applies
        def fdiff(self, argindex=1):
            return wrong_sigmoid(self.args[0])

    form = ElementwiseForm(wrong_sigmoid, lambda z: 1 / (1 + sp.exp(-z)))
    wrong = Elementwise("sigmoid", "σ with the rule σ' = σ (wrong)", symbolic=form)
    network = Network.from_spec("2,2,1", wrong)
    proof = prove(network)
    assert not proof.ok
    # one definition of the rule: sympy.diff and the recurrence both apply the wrong fdiff, so the
    # weights agree with each other and the lemma about the rule is what fails: refuted, with the point
    (lemma,) = [lemma for lemma in proof.lemmas if lemma.name == "sigmoid'"]
    assert lemma.status == REFUTED
    assert lemma.detail.startswith("at z = ") and "d/dz of the closed form = " in lemma.detail
    assert lemma.to_dict()["counterexample"] == lemma.detail


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_user_recurrence_given_as_a_function(backend):
    network = Network.from_spec("2,2,1", "generic")
    assert prove(network, lambda sym: PSI.gradients(sym), backend=backend).ok
    assert not prove(network, lambda sym: [2 * m for m in PSI.gradients(sym)], backend=backend).ok


def test_a_user_recurrence_with_the_wrong_shape_is_bad_input():
    network = Network.from_spec("2,2,1", "generic")
    with pytest.raises(InputError, match=r"∂E/∂W̄\[0\] has shape \(3, 2\), W̄\[0\] has \(2, 3\)"):
        prove(network, lambda sym: [m.T for m in PSI.gradients(sym)])
    with pytest.raises(InputError, match="returned 1 matrices for 2 weight layers"):
        prove(network, lambda sym: PSI.gradients(sym)[:1])


def test_the_direct_form_is_sympy_diff_of_the_error():
    sym = SymbolicNetwork(Network.from_spec("1,1", "generic"))
    (grad,) = direct_gradients(sym)
    w0, w1 = sym.wbar[0]
    x, y = sym.x[0], sym.y[0]
    z = w0 + w1 * x
    assert sp.expand(grad[0, 1] - (a(z) - y) * a_prime(z) * x) == 0


def test_proof_reports_per_layer_and_as_json():
    proof = prove(Network.source_text())
    assert proof.by_layer() == [(0, 9, 9), (1, 12, 12), (2, 8, 8)]
    data = proof.to_dict()
    assert {"proven", "total", "method", "seconds", "weights"} <= set(data)
    assert data["weights"][0] == {"layer": 0, "from": 0, "to": 1, "status": "proven"}
    assert len(data["weights"]) == 29 and data["seconds"] > 0
    assert np.isfinite(data["seconds"])
