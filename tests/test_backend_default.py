"""The exact method's backend: symengine by default where it is installed (``auto``), sympy where it is
not or where symengine cannot carry E, with the same verdicts either way; the report says which backend
decided and why, and every consumer of a proof sees the direct form of a weight symengine settled."""

import json
import subprocess
import sys

import pytest
import sympy as sp

import gradproof
from gradproof.cli import main
from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof import symengine_backend
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.proof.prove import prove
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.render.notebook import proof_html
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.symbolic.network import SymbolicNetwork

pytest.importorskip("symengine")

HUBER = "Piecewise(((a - y)**2/2, Abs(a - y) <= 1), (Abs(a - y) - 1/2, True))"
#: what symengine cannot carry, each in a loss or an activation of the user's, and the name it is refused by
CANNOT_CARRY = [("loss", f"huber_b={HUBER}", "Piecewise"),
                ("loss", "hinge2_b=Max(a - y, 0)**2", "Max"),
                ("loss", "clipped_b=Min(a - y, 1)**2", "Min"),
                ("activation", "elu_b=Piecewise((z, z > 0), (exp(z) - 1, True))", "Piecewise")]


def comparable(proof) -> dict:
    """What a proof says (verdicts, counterexamples, conditions, lemmas, notes), less how it was computed."""
    found = proof.to_dict()
    for key in ("seconds", "backend", "backend_note"):
        found.pop(key)
    return found


def _network(kind: str, definition: str) -> Network:
    name, expression = definition.split("=", 1)
    if kind == "loss":
        return Network.from_spec("2,2,1", "sigmoid", gradproof.define_loss(name, expression))
    return Network.from_spec("2,2,1", gradproof.define_activation(name, expression))


@pytest.mark.deferred
def test_the_default_is_symengine_where_it_is_installed():
    network = Network.source_text()
    fast, reference = prove(network), prove(network, backend="sympy")
    assert fast.backend == "symengine" and "29 of 29 weights settled there" in fast.backend_note
    assert reference.backend == "sympy" and "asked for" in reference.backend_note
    assert fast.ok and comparable(fast) == comparable(reference)
    # the comparison sees a verdict that differs (the negative control)
    wrong = prove(network, MISTAKES["missing-a-prime"].recurrence, diagnose=False)
    assert wrong.backend == "symengine" and "8 of 29 weights settled there" in wrong.backend_note
    assert wrong.backend_note.endswith("21 decided by sympy")
    assert comparable(wrong) != comparable(reference)


def test_without_symengine_the_default_is_sympy(monkeypatch):
    monkeypatch.setattr(symengine_backend, "se", None)  # as if it were not installed
    network = Network.from_spec("2,2,1", "tanh")
    proof = prove(network)
    assert proof.ok and proof.backend == "sympy" and "symengine is not installed" in proof.backend_note
    wrong = prove(network, MISTAKES["missing-a-prime"].recurrence, diagnose=False)
    assert wrong.backend == "sympy" and not wrong.ok and wrong.refuted
    with pytest.raises(InputError, match="needs symengine"):
        prove(network, backend="symengine")


NO_SYMENGINE = """
import json, sys
sys.modules["symengine"] = None  # import symengine raises ImportError: as if it were not installed
from gradproof.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.deferred
def test_the_command_line_without_symengine_proves_with_sympy():
    args = ["prove", "--layers", "2,2,1", "--json"]
    without = subprocess.run([sys.executable, "-c", NO_SYMENGINE, *args], capture_output=True, text=True, timeout=120)
    with_it = subprocess.run([sys.executable, "-m", "gradproof", *args], capture_output=True, text=True, timeout=120)
    assert without.returncode == with_it.returncode == 0, without.stderr + with_it.stderr
    assert json.loads(without.stdout)["backend"] == "sympy" and json.loads(with_it.stdout)["backend"] == "symengine"
    asked = subprocess.run([sys.executable, "-c", NO_SYMENGINE, *args, "--backend", "symengine"],
                           capture_output=True, text=True, timeout=120)
    assert asked.returncode == 2 and "needs symengine" in asked.stderr and len(asked.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind, definition, what", CANNOT_CARRY, ids=[c[2] + "-" + c[0] for c in CANNOT_CARRY])
@pytest.mark.deferred
def test_auto_falls_back_to_sympy_where_symengine_cannot_carry_e(kind, definition, what):
    network = _network(kind, definition)
    for recurrence in (None, MISTAKES["missing-a-prime"].recurrence):
        options = {"diagnose": False} if recurrence is None else {"recurrence": recurrence, "diagnose": False}
        auto, reference = prove(network, **options), prove(network, backend="sympy", **options)
        assert auto.backend == "sympy" and f"symengine cannot carry {what}" in auto.backend_note
        assert comparable(auto) == comparable(reference)
    with pytest.raises(InputError, match=f"cannot carry {what} over: use --backend sympy"):
        prove(network, backend="symengine")


def test_the_fallback_keeps_the_verdicts_apart(monkeypatch):  # the negative control: right and wrong do not merge
    monkeypatch.setattr(symengine_backend, "se", None)  # as if it were not installed
    network = Network.from_spec("2,2,1", "sigmoid")
    right, wrong = prove(network), prove(network, MISTAKES["missing-a-prime"].recurrence, diagnose=False)
    assert right.backend == wrong.backend == "sympy"
    assert right.ok and not wrong.ok and wrong.refuted


def test_a_weight_settled_in_symengine_still_has_its_direct_form():
    network = Network.source_text()
    proof, sym = prove(network), SymbolicNetwork(network)
    weights = sym.weight_symbols
    assert proof.backend == "symengine" and all(w._direct is None for w in proof.weights)  # all settled there
    by_diff = [sp.diff(sym.error, w) for w in weights]
    assert all(d.is_zero for d in decide_zero([w.direct - d for w, d in zip(proof.weights, by_diff)]))
    assert all(d.is_zero for d in decide_zero([w.direct - w.claimed for w in proof.weights]))
    assert all(w.residual == 0 for w in proof.weights)
    # the negative control: a weight's direct form is not another weight's
    assert not any(d.is_zero for d in decide_zero([w.direct - d for w, d in zip(proof.weights, by_diff[1:])]))


def test_every_view_of_a_symengine_proof_shows_it(capsys):
    network = Network.source_text()
    proof = prove(network)
    assert "29/29 weights proven" in repr(proof) and "weight=" in repr(proof.weights[0])
    assert "backend: symengine" in proof_html(proof)
    shown = Derivation.of(network).to_text(proof=proof)
    assert shown.count("[proven]") == network.depth
    assert main(["prove", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "symengine" and "29 of 29" in data["backend_note"]
    assert main(["prove", "--backend", "sympy"]) == 0
    assert "backend: sympy: asked for" in capsys.readouterr().out
    assert main(["prove", "--method", "layerwise", "--json"]) == 0
    layerwise = json.loads(capsys.readouterr().out)
    assert layerwise["backend"] == "sympy" and "the layerwise method computes with sympy" in layerwise["backend_note"]


def test_an_explicit_symengine_that_cannot_carry_e_is_one_line(capsys):
    huber = ["prove", "--layers", "2,1", "--loss", f"huber_d={HUBER}"]
    assert main(huber + ["--backend", "symengine"]) == 2
    err = capsys.readouterr().err
    assert "cannot carry Piecewise over" in err and len(err.strip().splitlines()) == 1
    assert main(huber) == 1  # auto: sympy decides, and leaves a Piecewise loss undecided (never proven)
    out = capsys.readouterr().out
    assert "backend: sympy: symengine cannot carry Piecewise" in out and "undecided" in out
