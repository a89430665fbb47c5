"""The layerwise, random and general proofs: they prove what the exact proof proves, they refute the
classic mistakes, and they say what they prove."""

import json
import subprocess

import pytest
import sympy as sp
from hypothesis import given

from gradproof.derive.model.activations import get_activation
from gradproof.derive.symbolic.functions import Exp, a, a_prime, sigmoid
from gradproof.derive.proof.general import base_lemma, prove_general, step_lemma, weight_lemma
from gradproof.derive.symbolic.recurrence import PSI
from gradproof.derive.proof.result import PROVEN, REFUTED
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.proof.randomized import is_prime
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.numeric.strategies.networks import ALL_ACTIVATIONS, architectures


@pytest.mark.parametrize("method", ["layerwise", "random"])
@given(architectures(max_depth=3, max_width=4, activations=ALL_ACTIVATIONS))
@pytest.mark.deferred
def test_fast_methods_prove_what_the_exact_proof_proves(method, network):
    assert prove(network, method=method).ok


def _each_mistake_by_one_method(methods):
    """Every mistake under one of ``methods`` in the default suite (taking turns), every pair under -m slow."""
    params = []
    for turn, name in enumerate(sorted(MISTAKES)):
        for index, method in enumerate(methods):
            marks = () if turn % len(methods) == index else (pytest.mark.slow,)
            params.append(pytest.param(name, method, marks=marks, id=f"{name}-{method}"))
    return params


@pytest.mark.parametrize("name, method", _each_mistake_by_one_method(("layerwise", "random")))
@pytest.mark.sampled(3)
def test_fast_methods_refute_every_mistake_where_it_does_harm(method, name):
    loss = "mse" if name in ("half-sse-rule-with-mse", "factor-2-dropped") else "half-sse"
    output = "softmax" if name == "softmax-jacobian-ignored" else "generic"
    network = Network.from_spec("2,3,3,3" if loss == "mse" or output == "softmax" else "2,3,3,2",
                                ["generic", "generic", output], loss)
    mistake = MISTAKES[name]
    if name == "loop-ends-early" and method == "layerwise":  # it changes the loop itself: not step by step
        with pytest.raises(ValueError, match="keeps its gradients\\(\\) loop"):
            prove(network, mistake.recurrence, method=method)
        return
    proof = prove(network, mistake.recurrence, method=method)
    assert not proof.ok
    not_proven = {w.weight for w in proof.weights if w.status != PROVEN}
    assert mistake.affected(network) <= not_proven


def test_layerwise_points_at_the_wrong_step():
    proof = prove(Network.source_text(), MISTAKES["bias-column-kept"].recurrence, method="layerwise")
    failed = [note.split(": ")[1] for note in proof.notes if note.startswith("not proven for this recurrence")]
    assert failed == ["step Ψ[1] from Ψ[2]", "step Ψ[0] from Ψ[1]"]
    assert all(lemma.status == PROVEN for lemma in proof.lemmas)  # only what the proven weights rest on
    assert proof.by_layer()[2] == (2, 8, 8)            # the layer above the wrong steps stays proven
    assert len(proof.refuted) == 21                    # the others: real networks where they differ
    assert "chain rule" in proof.method_description and any("chain rule" in a for a in proof.assumptions)


def test_random_states_its_error_probability():
    proof = prove(Network.from_spec("3,4,2", "tanh"), method="random", rounds=3)
    assert proof.ok and "3 random point(s), each modulo a prime drawn at random" in proof.method_description
    bound = float(proof.method_description.split("probability ≤ ")[1].split(" ")[0])
    assert 0 < bound < 1e-30


def test_layerwise_needs_a_step_by_step_recurrence():
    with pytest.raises(ValueError, match="needs a recurrence written step by step"):
        prove(Network.from_spec("2,2,1"), lambda sym: PSI.gradients(sym), method="layerwise")


@pytest.mark.deferred
def test_general_proves_every_architecture():
    proof = prove_general(("generic", "sigmoid", "tanh", "relu", "softplus", "identity"))
    assert proof.ok and all(lemma.status == PROVEN for lemma in proof.lemmas)
    assert "for every depth L ≥ 1, all widths" in proof.statement
    assert "relu: wherever no weighted sum is exactly 0" in proof.statement   # the kink caveat
    data = proof.to_dict()
    assert data["proven"] == data["total"] == len(proof.lemmas) and data["refuted"] == data["undecided"] == 0
    assert data["counted"] == "lemmas" and data["statement"] == proof.statement and data["method"] == "general"
    assert any("chain rule" in part for part in data["assumptions"])
    assert data["caveats"] and "relu" in data["caveats"][0]


@pytest.mark.deferred
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
    for defined in (["--define", "f=z**3", "--activation", "f"], ["--activation", "f=z**3"],
                    ["--loss", "quartic=(a - y)**4"]):
        bad = subprocess.run(["gradproof", "prove", "--method", "general", *defined], capture_output=True,
                             text=True, timeout=300)
        assert bad.returncode == 2 and "proves the built-in activations (sigmoid, tanh" in bad.stderr, bad.stderr
