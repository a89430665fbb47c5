"""The symengine backend gives the sympy backend's verdicts, weight by weight: on correct recurrences, on
every catalogued mistake (refuted at exactly the same weights), for every activation and loss, on
convolutions and on what could fool it (a function of the user's named like one of sympy's, an Abs)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import gradproof
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic.recurrence import PSI
from tests.test_conv import _KernelNotFlipped

pytest.importorskip("symengine")
from gradproof.derive.proof.symengine_backend import Converter, Differentiated  # noqa: E402 - after the skip

ROOT = Path(__file__).resolve().parents[1]
ACTIVATIONS = ["sigmoid", "tanh", "relu", "softplus", "identity", "generic"]
LOSSES = ["half-sse", "mse", "bce", "softmax-ce"]

NETWORKS = [
    Network.source_text(),
    Network.from_spec("2,3,2", "generic", "softmax-ce"),
    Network.from_spec("3,2,2", "tanh,sigmoid", "bce"),
    Network.from_spec("2,2,3", "relu,identity", "mse"),
    Network.from_spec("2,3,2", "generic", "half-sse", bias=False),
]


def verdicts(proof):
    return [(str(w.weight), w.status) for w in proof.weights]


def comparable(proof) -> dict:
    """What a proof says (verdicts, counterexamples, conditions, lemmas, notes), less how it was computed."""
    found = proof.to_dict()
    for key in ("seconds", "backend", "backend_note"):
        found.pop(key)
    return found


def both(network, recurrence=PSI) -> tuple:
    """The proof by sympy and by symengine, after checking that symengine did differentiate E."""
    reference = prove(network, recurrence, diagnose=False, backend="sympy")
    fast = prove(network, recurrence, diagnose=False, backend="symengine")
    assert reference.backend == "sympy" and fast.backend == "symengine"
    return reference, fast


@pytest.mark.parametrize("network", NETWORKS, ids=lambda n: n.spec())
@pytest.mark.sampled(2)
def test_both_backends_prove_the_recurrence(network):
    reference, fast = both(network)
    assert reference.ok and fast.ok
    assert comparable(fast) == comparable(reference)


#: in the default suite: a mistake per loss and kind of step (the default backend alone refutes every
#: mistake in tests/test_mistakes.py); every mistake on both backends under -m slow
SOME_MISTAKES = {"softmax-jacobian-ignored", "factor-2-dropped", "sign-error", "missing-a-prime"}


def _some(values, default) -> list:
    return [pytest.param(*v, marks=()) if v in default else pytest.param(*v, marks=pytest.mark.slow)
            for v in values]


@pytest.mark.parametrize("name", _some([(name,) for name in sorted(MISTAKES)], {(n,) for n in SOME_MISTAKES}))
@pytest.mark.deferred
def test_both_backends_refute_each_mistake_at_the_same_weights(name):
    loss = "mse" if name in ("half-sse-rule-with-mse", "factor-2-dropped") else "half-sse"
    output = "softmax" if name == "softmax-jacobian-ignored" else "generic"
    if name == "softmax-jacobian-ignored":
        loss = "softmax-ce"
    network = Network.from_spec("2,3,3,3" if loss != "half-sse" else "2,3,3,2", ["generic", "generic", output], loss)
    mistake = MISTAKES[name]
    reference, fast = both(network, mistake.recurrence)
    assert comparable(fast) == comparable(reference)  # the same weights, counterexamples and conditions
    affected = mistake.affected(network)
    assert affected and {w.weight for w in reference.refuted} == affected and not reference.undecided


#: in the default suite each activation and each loss once (the default backend proves every pair in
#: tests/test_proof.py); every pair on both backends under -m slow
DIAGONAL = {(a, LOSSES[k % len(LOSSES)]) for k, a in enumerate(ACTIVATIONS)} | {("tanh,relu,softmax", "softmax-ce")}


@pytest.mark.parametrize("activation, loss", _some([(a, loss) for a in ACTIVATIONS for loss in LOSSES]
                                                   + [("tanh,relu,softmax", loss) for loss in LOSSES if loss != "bce"],
                                                   DIAGONAL))  # bce: sigmoid output
@pytest.mark.sampled(1)
def test_both_backends_say_the_same_for_every_activation_and_loss(activation, loss):
    reference, fast = both(Network.from_spec("2,3,3,2", activation, loss))
    assert reference.ok and (reference.proven, reference.total) == (29, 29)
    assert comparable(fast) == comparable(reference)


def test_the_comparison_sees_a_different_verdict():  # the negative control of the two tests above
    network = Network.source_text()
    right, wrong = prove(network, backend="symengine"), prove(network, MISTAKES["sign-error"].recurrence,
                                                             diagnose=False, backend="symengine")
    assert comparable(right) != comparable(wrong) and verdicts(right) != verdicts(wrong)


def _swapped_for_sympys(name: str, function):
    """The Ψ recurrence's entries with the user's function called ``name`` replaced by sympy's ``function``
    of the same name: wrong wherever that function's values enter."""
    def recurrence(sym):
        def swap(entry):
            return entry.replace(lambda node: type(node).__name__ == name and type(node) is not function,
                                 lambda node: function(*node.args))
        return [sp.ImmutableMatrix(m).applyfunc(swap) for m in PSI.gradients(sym)]
    return recurrence


def test_a_function_of_yours_named_like_sympys_is_not_sympys():
    # symengine tells functions apart by name: an activation called sech must not pass for sympy's sech
    network = Network.from_spec("2,2,1", gradproof.define_activation("sech", "z**3"))
    reference, fast = both(network, _swapped_for_sympys("sech", sp.sech))
    assert not reference.ok and reference.proven == 0 and comparable(fast) == comparable(reference)
    right, right_fast = both(network)  # the negative control: the recurrence itself is proven
    assert right.ok and comparable(right_fast) == comparable(right)


def test_two_definitions_under_one_name_stay_apart():
    square = gradproof.define_activation("twice_named", "z**2")
    cube = gradproof.define_activation("twice_named", "z**3")  # a name may be defined again
    network = Network.from_spec("2,2,2,1", [square, cube, "sigmoid"])
    reference, fast = both(network)
    assert reference.ok and comparable(fast) == comparable(reference)
    wrong_reference, wrong_fast = both(network, MISTAKES["a-prime-at-activation"].recurrence)
    assert not wrong_reference.ok and comparable(wrong_fast) == comparable(wrong_reference)


def test_a_symbol_is_not_another_symbol_with_its_name():
    convert = Converter()
    first, second = sp.Dummy("t"), sp.Dummy("t")
    assert convert(first - second) != 0 and convert(first - first) == 0  # the control: the same one cancels
    assert convert.back(convert(first * second)) == first * second


def test_an_abs_is_differentiated_as_sympy_diff_does():
    # sympy.diff differentiates Abs by its own rule, not by fdiff (sign): symengine leaves such a weight to
    # sympy, so an l1 loss is undecided on both backends, never proven on one
    network = Network.from_spec("2,1", "sigmoid", gradproof.define_loss("l1_e", "Abs(a - y)"))
    reference, fast = both(network)
    assert reference.proven == 0 and comparable(fast) == comparable(reference)
    w, x = sp.symbols("w x")
    handed = Differentiated(sp.Abs(w * x - 1) + sp.tanh(w), [w], lambda expr: False)
    assert handed.derivatives == (None,) and handed.sympy_form(0) == sp.diff(sp.Abs(w * x - 1) + sp.tanh(w), w)
    carried = Differentiated(sp.tanh(w * x), [w], lambda expr: False)  # the control: a rule by fdiff
    assert carried.derivatives[0] is not None and not carried.by_sympy


def test_both_backends_say_the_same_on_convolutions():
    network = Network.from_spec("1x3x3,conv1k2s1,conv1k2s1,1", "generic")
    reference, fast = both(network)
    assert reference.ok and comparable(fast) == comparable(reference)
    wrong_reference, wrong_fast = both(network, _KernelNotFlipped())
    assert wrong_reference.refuted and comparable(wrong_fast) == comparable(wrong_reference)


@pytest.mark.deferred
def test_both_backends_say_the_same_on_a_recurrence_file():
    def proved(backend):
        done = subprocess.run([sys.executable, "-m", "gradproof", "prove", "--recurrence", "examples/my_rec.py:recurrence",
                               "--backend", backend, "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 1, done.stderr  # the example recurrence is wrong
        data = json.loads(done.stdout)
        assert data["backend"] == backend and data["refuted"] > 0
        return {k: v for k, v in data.items() if k not in ("seconds", "backend", "backend_note")}
    assert proved("symengine") == proved("sympy")


def test_symengine_is_for_the_exact_method_only():
    from gradproof.derive.errors import InputError
    with pytest.raises(InputError, match="--method exact only"):
        prove(Network.source_text(), method="layerwise", backend="symengine")
