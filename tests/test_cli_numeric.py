"""gradproof check and gradproof gradient: output, JSON contract and exit statuses."""

import json

import numpy as np
import pytest

from gradproof.cli import main
from gradproof.derive.model.network import Network
from gradproof.numeric.differences.error_model import error_model


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_the_source_text_network(capsys):
    status, out, _ = run(capsys, "check", "--layers", "2,3,3,2")
    assert status == 0
    assert out.startswith("gradient check passed: all 29 weights agree (analytic, direct and finite difference)")
    assert "method complex-step, step 1.0e-20, float64" in out


@pytest.mark.parametrize("method", ["forward", "central", "richardson", "complex-step"])
def test_check_json(capsys, method):
    status, out, _ = run(capsys, "check", "--layers", "3,4,2", "--activation", "tanh", "--loss",
                         "softmax-ce", "--batch", "3", "--seed", "5", "--method", method, "--json")
    data = json.loads(out)
    assert status == 0 and data["ok"] is True
    assert data["method"] == method and data["weights"] == 4 * 4 + 2 * 5
    assert 0 <= data["tolerance_used"] <= 1 and data["max_relative_error"] < 1e-3
    assert data["seconds"] > 0 and data["failures"] == [] and data["batch"] == 3


def test_check_a_mismatch_exits_1_with_the_table(capsys, monkeypatch):
    from gradproof.numeric.checks import check as check_module
    original = check_module.compiled

    def broken(network, form):
        form_fn = original(network, form)
        if form != "psi":
            return form_fn

        def wrong(wbar, x, y, reduction="mean"):
            grads = form_fn(wbar, x, y, reduction)
            grads[0] = grads[0] * 1.001
            return grads
        return wrong

    monkeypatch.setattr(check_module, "compiled", broken)
    status, out, _ = run(capsys, "check", "--layers", "2,2,1", "--seed", "3")
    assert status == 1
    assert out.startswith("gradient check FAILED: 6 of 9 weights")
    assert "rerun: gradproof check --layers 2,2,1" in out


def test_check_quick(capsys):
    status, out, _ = run(capsys, "check", "--layers", "20,30,5", "--quick", "--json")
    data = json.loads(out)
    assert status == 0 and data["ok"] and data["weights"] == 0 and data["direction"]["ok"] is True


def test_a_check_that_cannot_decide_exits_1_and_says_why(capsys):
    # a step of 1e-16 moves no weighted sum: every finite difference is 0, its rounding bound huge
    status, out, _ = run(capsys, "check", "--layers", "4,6,3", "--method", "central", "--step", "1e-16", "--json")
    data = json.loads(out)
    assert status == 1 and data["ok"] is False and data["verdict"] == "cannot decide"
    assert data["resolved"] == 0 and data["unresolved"]["below_resolution"] == 51
    status, out, _ = run(capsys, "check", "--layers", "4,6,3", "--method", "central", "--step", "1e-16")
    assert status == 1 and out.startswith("gradient check cannot decide")
    assert "could not have failed" in out and "--method complex-step" in out


def test_gradient_json_holds_everything_needed_to_recheck(capsys):
    status, out, _ = run(capsys, "gradient", "--layers", "2,3,2", "--seed", "7", "--json")
    data = json.loads(out)
    assert status == 0
    wbar = [np.array(w) for w in data["wbar"]]
    assert [w.shape for w in wbar] == [(3, 3), (2, 4)]
    for name in ("psi", "finite_difference", "direct"):
        grads = [np.array(g) for g in data["gradients"][name]]
        assert [g.shape for g in grads] == [w.shape for w in wbar]
    psi = np.concatenate([np.ravel(g) for g in data["gradients"]["psi"]])
    for other in ("direct", "finite_difference"):
        values = np.concatenate([np.ravel(g) for g in data["gradients"][other]])
        np.testing.assert_allclose(values, psi, rtol=1e-9, atol=1e-15)
    assert len(data["x"]) == 2 and len(data["y"]) == 2


def test_gradient_of_a_large_network_has_no_direct_form(capsys):
    status, out, _ = run(capsys, "gradient", "--layers", "30,20,10")  # 830 weights: over DIRECT_LIMIT
    assert status == 0 and json.loads(out)["gradients"]["direct"] is None


def test_gradient_of_a_few_hundred_weights_has_the_direct_form(capsys):
    status, out, _ = run(capsys, "gradient", "--layers", "10,20,5")  # 325 weights (over 200 paths)
    found = json.loads(out)
    gradients = found["gradients"]
    assert status == 0 and gradients["direct"] is not None
    wbar = [np.array(w) for w in found["wbar"]]
    x, y = np.atleast_2d(found["x"]).T, np.atleast_2d(found["y"]).T  # one column per sample
    # each side is an analytic gradient in float64: within the error model's rounding bound of the truth
    bounds = error_model(Network.from_spec("10,20,5"), wbar, x, y).analytic_rounding(found["reduction"])
    for direct, psi, bound in zip(gradients["direct"], gradients["psi"], bounds):
        assert np.all(np.abs(np.array(direct) - np.array(psi)) <= 2 * bound)


@pytest.mark.parametrize("args, message", [
    (["check", "--batch", "0"], "--batch must be at least 1"),
    (["check", "--method", "backward"], "invalid choice: 'backward'"),
    (["check", "--activation", "generic"], "the generic activation is symbolic only"),
    (["check", "--seed", "x"], "invalid int value: 'x'"),
    (["check", "--step", "-1"], "the step must be a positive number"),
    (["gradient", "--layers", "2,0"], "layer 1 has size 0"),
])
def test_bad_input_exits_2_with_one_line(capsys, args, message):
    try:
        status = main(args)
    except SystemExit as exit_:
        status = exit_.code
    _, err = capsys.readouterr()
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
