"""The catalogue of classic mistakes: each is caught by the symbolic proof and by the numeric check, both
point at exactly the weights it makes wrong, and both recognise it by name."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.checks.mistakes import NUMERIC_MISTAKES, as_gradient
from gradproof.numeric.samples import random_sample
from gradproof.numeric.strategies.networks import ALL_ACTIVATIONS, architectures, networks

WHERE = {  # a network on which each mistake does harm (hidden activation filled in by the test)
    "half-sse-rule-with-mse": ("2,3,3,3", "mse", None),
    "factor-2-dropped": ("2,3,3,3", "mse", None),
    "softmax-jacobian-ignored": ("2,3,3,3", "half-sse", "softmax"),
}


def network_for(name: str, hidden: str) -> Network:
    layers, loss, output = WHERE.get(name, ("2,3,3,2", "half-sse", None))
    return Network.from_spec(layers, [hidden, hidden, output or hidden], loss)


def test_the_catalogue_has_at_least_twelve_mistakes_in_both_forms():
    assert len(MISTAKES) >= 12
    assert set(MISTAKES) == set(NUMERIC_MISTAKES)
    assert all(m.description for m in MISTAKES.values())


@pytest.mark.parametrize("hidden", ["generic", pytest.param("tanh", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", sorted(MISTAKES))
@pytest.mark.sampled(3)
def test_the_proof_refutes_exactly_the_weights_a_mistake_makes_wrong(name, hidden):
    network = network_for(name, hidden)
    mistake = MISTAKES[name]
    affected = mistake.affected(network)
    assert affected, f"{name} must do harm on {network.describe()}"
    proof = prove(network, mistake.recurrence, diagnose=False)
    assert {w.weight for w in proof.refuted} == affected
    assert not proof.undecided and not proof.ok


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_the_numeric_check_fails_exactly_on_those_weights_and_names_the_mistake(name):
    network = network_for(name, "tanh")
    result = check_gradient(random_sample(network, seed=4), as_gradient(NUMERIC_MISTAKES[name], network))
    assert {r.weight for r in result.failures} == MISTAKES[name].affected(network)
    assert any(f"({name})" in sentence for sentence in result.diagnosis), result.diagnosis
    assert f"({name})" in result.report()


@pytest.mark.parametrize("name", ["bias-column-kept", "not-transposed", "loop-ends-early", "sign-error"])
@pytest.mark.sampled(1)
def test_the_proof_names_the_mistake(name):
    proof = prove(network_for(name, "sigmoid"), MISTAKES[name].recurrence)
    assert any(f"({name})" in sentence for sentence in proof.diagnosis)


@pytest.mark.slow  # a minute; its fast representative: test_the_proof_refutes_exactly_the_weights_a_mistake_makes_wrong
@given(architectures(min_depth=1, max_depth=3, max_width=3, activations=ALL_ACTIVATIONS),
       st.sampled_from(sorted(MISTAKES)))
def test_mistakes_on_random_architectures_are_refuted_exactly_where_they_harm(network, name):
    mistake = MISTAKES[name]
    proof = prove(network, mistake.recurrence, diagnose=False)
    affected = mistake.affected(network)
    assert {w.weight for w in proof.refuted} == affected
    # the prover is sound but not complete: it may leave a harmless mistake undecided, never a harmful one
    assert not {w.weight for w in proof.undecided} & affected


@given(networks(architecture=architectures(min_depth=1, max_depth=3, max_width=4,
                                           activations=["sigmoid", "tanh", "softplus", "identity"]),
                max_batch=2),
       st.sampled_from(sorted(MISTAKES)))
def test_numeric_mistakes_on_random_networks_fail_only_where_they_harm(sample, name):
    # at special points (x = 0, all weights 0) a mistake can agree with the truth; it never shows where
    # it does no harm
    network = sample.network
    result = check_gradient(sample, as_gradient(NUMERIC_MISTAKES[name], network), direct=False)
    assert {r.weight for r in result.failures} <= MISTAKES[name].affected(network)
