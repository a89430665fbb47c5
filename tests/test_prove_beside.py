"""check-layers --prove: every layer's proof beside its numeric check, never a traceback, never a verdict that
contradicts the check (and the detector of such a contradiction shown to fire)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.cli.beside import disagreement
from gradproof.numeric.layers.result import AGREE, DIFFER, InputResult, LayerCheck

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv, timeout=600):
    return subprocess.run([sys.executable, "-m", "gradproof", "check-layers", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


@pytest.mark.deferred
def test_the_course_module_each_function_proven_refuted_or_cannot_trace_beside_its_check():
    done = _run("tests/zoo/course_layers.py", "--prove", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["disagreements"] == 0
    verdicts = {layer["name"]: (layer["status"], layer["proof"]["status"]) for layer in summary["layers"]}
    assert verdicts["affine"] == ("agree", "proven") and verdicts["softmax_loss"] == ("agree", "proven")
    assert verdicts["avg_pool"] == ("not-implemented", "refuted")   # all zeros: refuted with a counterexample
    for name in ("tanh", "dropout", "batchnorm", "max_pool", "leaky_relu"):
        proof = next(layer["proof"] for layer in summary["layers"] if layer["name"] == name)
        assert proof["status"] == "cannot-trace" and proof["reason"].startswith("cannot trace:"), proof
        assert "course_layers.py:" in proof["reason"] and "\n" not in proof["reason"]
    assert all(layer["proof"]["status"] in ("proven", "refuted", "undecided", "cannot-trace")
               for layer in summary["layers"])


@pytest.mark.deferred
def test_wrong_gradients_are_refuted_where_the_check_finds_them_and_correct_ones_proven():
    buggy = _run("examples/buggy_layers.py", "--prove")
    assert buggy.returncode == 1 and "REFUTED db" in buggy.stdout and "REFUTED dx" in buggy.stdout
    assert "none disagrees with the check" in buggy.stdout
    right = _run("examples/my_layers.py", "--prove")
    assert right.returncode == 0 and "proofs: 4 proven; none disagrees" in right.stdout


@pytest.mark.deferred
def test_a_proof_past_its_budget_is_undecided_and_says_so():
    done = _run("examples/my_layers.py", "--only", "rnn_step", "--prove", "--prove-budget", "0.01")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "did not finish within 0.01 s (--prove-budget)" in done.stdout and "x 3×4" in done.stdout


def _check(status, wrong=()):
    inputs = [InputResult(name, f"d{name}", (2,), DIFFER if f"d{name}" in wrong else AGREE, 2) for name in "xw"]
    return LayerCheck("layer", "pair", status, inputs=inputs)


def test_the_disagreement_detector_fires_on_each_kind_of_contradiction():
    proven = {"status": "proven", "refuted": []}
    refuted_dx = {"status": "refuted", "refuted": ["dx"]}
    assert disagreement(_check(AGREE), proven) == ""
    assert disagreement(_check(DIFFER, ["dx"]), refuted_dx) == ""
    assert "proof refutes dx" in disagreement(_check(AGREE), refuted_dx)
    assert "proof proves every entry" in disagreement(_check(DIFFER, ["dx"]), proven)
    assert "proof refutes dx" in disagreement(_check(DIFFER, ["dw"]), refuted_dx)
