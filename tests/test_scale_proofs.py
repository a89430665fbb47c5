"""The layerwise, random and general proofs: they prove what the exact proof proves, they refute the
classic mistakes, and they say what they prove."""

import json
import subprocess

import pytest
import sympy as sp
from hypothesis import given

from gradproof.derive.model.activations import get_activation
from gradproof.derive.symbolic.functions import Exp, a, a_prime, sigmoid
from gradproof.derive.proof.general import G, W, X, Y, Z, base_lemma, i, m, p, prove_general, q, step_lemma, weight_lemma
from gradproof.derive.symbolic.recurrence import PSI
from gradproof.derive.proof.result import PROVEN, REFUTED
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.proof.randomized import P, error_probability
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.numeric.strategies.networks import ALL_ACTIVATIONS, architectures


@pytest.mark.parametrize("method", ["layerwise", "random"])
@given(architectures(max_depth=3, max_width=4, activations=ALL_ACTIVATIONS))
def test_fast_methods_prove_what_the_exact_proof_proves(method, network):
    assert prove(network, method=method).ok


@pytest.mark.parametrize("method", ["layerwise", "random"])
@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_fast_methods_refute_every_mistake_where_it_does_harm(method, name):
    loss = "mse" if name in ("half-sse-rule-with-mse", "factor-2-dropped") else "half-sse"
    output = "softmax" if name == "softmax-jacobian-ignored" else "generic"
    network = Network.from_spec("2,3,3,3" if loss == "mse" or output == "softmax" else "2,3,3,2",
                                ["generic", "generic", output], loss)
    mistake = MISTAKES[name]
    if name == "loop-ends-early":  # it changes the loop itself, which only the exact proof sees
        with pytest.raises(ValueError, match="keeps its gradients\\(\\) loop"):
            prove(network, mistake.recurrence, method=method)
        return
    proof = prove(network, mistake.recurrence, method=method)
    assert not proof.ok
    not_proven = {w.weight for w in proof.weights if w.status != PROVEN}
    assert mistake.affected(network) <= not_proven


def test_layerwise_points_at_the_wrong_step():
    proof = prove(Network.source_text(), MISTAKES["bias-column-kept"].recurrence, method="layerwise")
    failed = [lemma.name for lemma in proof.lemmas if lemma.status != PROVEN]
    assert failed == ["step Ψ[1] from Ψ[2]", "step Ψ[0] from Ψ[1]"]
    assert proof.by_layer()[2] == (2, 8, 8)            # the layer above the wrong steps stays proven
    assert "chain rule" in proof.method_description and any("chain rule" in a for a in proof.assumptions)


def test_random_states_its_error_probability():
    network = Network.from_spec("784,100,10")
    assert error_probability(network, 1) < 1e-11 and error_probability(network, 2) < 1e-22
    proof = prove(Network.from_spec("3,4,2", "tanh"), method="random", rounds=3)
    assert proof.ok and "random point(s) of GF(2⁶¹ − 1)" in proof.method_description
    assert "probability ≤" in proof.method_description and P == 2 ** 61 - 1


def test_layerwise_needs_a_step_by_step_recurrence():
    with pytest.raises(ValueError, match="needs a recurrence written step by step"):
        prove(Network.from_spec("2,2,1"), lambda sym: PSI.gradients(sym), method="layerwise")


def test_general_proves_every_architecture():
    proof = prove_general(("generic", "sigmoid", "tanh", "relu", "softplus", "identity"))
    assert proof.ok and all(lemma.status == PROVEN for lemma in proof.lemmas)
    assert "for every depth L ≥ 1, all widths" in proof.statement
    data = proof.to_dict()
    assert data["proven"] and "chain rule" in data["assumed"] and data["method"] == "general"


@pytest.mark.parametrize("wrong", [
    sp.Sum(W[q, i] * G[i], (i, 1, m)) * a_prime(Z[q]),       # W̄ not transposed
    sp.Sum(W[i, q] * G[i], (i, 1, m)),                        # a' missing
    sp.Sum(W[i, q - 1] * G[i], (i, 1, m)) * a_prime(Z[q]),   # the bias column kept: shifted by one
    sp.Sum(W[i, q] * G[i], (i, 1, m)) * a_prime(a(Z[q])),    # a' at a(z)
])
def test_general_step_refutes_mistakes(wrong):
    assert step_lemma("generic", True, claimed=wrong).status == REFUTED


def test_general_base_and_weight_refute_mistakes():
    assert base_lemma("half-sse", "generic", claimed=a(Z[p]) - Y[p]).status == REFUTED
    assert base_lemma("mse", "generic", claimed=(a(Z[p]) - Y[p]) * a_prime(Z[p]) / m).status == REFUTED
    assert base_lemma("softmax-ce", "softmax", claimed=Exp(Z[p]) - Y[p]).status == REFUTED
    assert weight_lemma(True, claimed=G[q] * X[p]).status == REFUTED
    assert weight_lemma(True, claimed=-G[p] * X[q]).status == REFUTED


@pytest.mark.parametrize("loss", ["half-sse", "mse", "bce", "softmax-ce"])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_the_index_forms_are_the_concrete_recurrence(loss, width):
    """At a concrete width, the general base lemma's Ψₚ is what PsiRecurrence computes."""
    network = Network.from_spec([1, width], "generic", loss)
    sym = SymbolicNetwork(network)
    concrete = PSI.output_psi(sym)
    mapping = {Z[k + 1]: z for k, z in enumerate(sym.z[-1])} | {Y[k + 1]: y for k, y in enumerate(sym.y)}
    output = "softmax" if loss == "softmax-ce" else "sigmoid" if loss == "bce" else "generic"
    from gradproof.derive.proof import general
    for unit in range(1, width + 1):
        index_form = _claimed(general, loss, output).subs({p: unit, m: width}).doit().xreplace(mapping)
        assert sp.simplify(index_form - concrete[unit - 1]) == 0


def _claimed(general, loss, output):
    """Recover the general module's claimed Ψₚ by testing it: the lemma must prove with it."""
    forms = {"half-sse": (a(Z[p]) - Y[p]) * a_prime(Z[p]), "mse": 2 * (a(Z[p]) - Y[p]) / m * a_prime(Z[p]),
             "bce": sigmoid(Z[p]) - Y[p],
             "softmax-ce": Exp(Z[p]) / sp.Sum(Exp(Z[i]), (i, 1, m)) - Y[p]}
    assert general.base_lemma(loss, output, claimed=forms[loss]).status == PROVEN
    return forms[loss]


def test_cli_methods():
    done = subprocess.run(["gradproof", "prove", "--method", "general", "--json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True
    for method in ("layerwise", "random"):
        done = subprocess.run(["gradproof", "prove", "--method", method, "--layers", "3,5,2", "--json"],
                              capture_output=True, text=True, timeout=300)
        data = json.loads(done.stdout)
        assert done.returncode == 0 and data["method"] == method and data["proven"] == data["total"] == 32
    bad = subprocess.run(["gradproof", "prove", "--method", "general", "--activation", "softmax"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "softmax is an output layer" in bad.stderr
