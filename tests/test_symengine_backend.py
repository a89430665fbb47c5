"""The symengine backend gives the sympy backend's verdicts, weight by weight: on correct recurrences, on
every catalogued mistake (refuted at exactly the same weights), for every activation and loss."""

import pytest

from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove

pytest.importorskip("symengine")

NETWORKS = [
    Network.source_text(),
    Network.from_spec("2,3,2", "generic", "softmax-ce"),
    Network.from_spec("3,2,2", "tanh,sigmoid", "bce"),
    Network.from_spec("2,2,3", "relu,identity", "mse"),
    Network.from_spec("2,3,2", "generic", "half-sse", bias=False),
]


def verdicts(proof):
    return [(str(w.weight), w.status) for w in proof.weights]


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.spec())
def test_both_backends_prove_the_recurrence(network):
    reference, fast = prove(network), prove(network, backend="symengine")
    assert reference.ok and fast.ok
    assert verdicts(fast) == verdicts(reference)


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_both_backends_refute_each_mistake_at_the_same_weights(name):
    loss = "mse" if name in ("half-sse-rule-with-mse", "factor-2-dropped") else "half-sse"
    output = "softmax" if name == "softmax-jacobian-ignored" else "generic"
    if name == "softmax-jacobian-ignored":
        loss = "softmax-ce"
    network = Network.from_spec("2,3,3,3" if loss != "half-sse" else "2,3,3,2", ["generic", "generic", output], loss)
    mistake = MISTAKES[name]
    reference = prove(network, mistake.recurrence, diagnose=False)
    fast = prove(network, mistake.recurrence, diagnose=False, backend="symengine")
    assert verdicts(fast) == verdicts(reference)
    affected = {str(w) for w in mistake.affected(network)}
    assert affected and affected <= {weight for weight, status in verdicts(fast) if status != "proven"}


def test_symengine_is_for_the_exact_method_only():
    from gradproof.derive.errors import InputError
    with pytest.raises(InputError, match="--method exact only"):
        prove(Network.source_text(), method="layerwise", backend="symengine")
