"""Trust in the numeric check (issue 9): no false alarm, no silent pass, no verdict moved by user code, no
traceback. Every example the issue names is a regression test here; each class of defect also has a
property test that would catch a new instance (random confident classifiers, random steps, random planted
errors, random losses at saturated points)."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.cli import main
from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.custom import resolve
from gradproof.numeric.checks.backward import (NetworksChecked, assert_backward_correct_on_networks,
                                               check_backward)
from gradproof.numeric.checks.check import check_gradient, matrix_psi
from gradproof.numeric.checks.mistakes import NUMERIC_MISTAKES, as_gradient
from gradproof.numeric.compiled.matrix import forward, psi_gradient
from gradproof.numeric.differences.finite_difference import METHODS
from gradproof.numeric.differences.output_bounds import output_bounds
from gradproof.numeric.errors import BackwardPassError, FiniteDifferenceUnreliable, GradientMismatch
from gradproof.numeric.samples import make_sample, random_sample
from gradproof.numeric.strategies.networks import architectures, networks
from tests import user_code_attacks as attacks
from tests.hard_samples import confident, hard_samples, tiny_gradients

HERE = Path(__file__).parent
mpmath.mp.dps = 50


def _confident(network, seed, scale):
    sample = random_sample(network, seed=seed)
    wbar = [w * scale for w in sample.wbar]
    output = forward(network, wbar, *sample.columns()).output[:, 0]
    return make_sample(network, wbar, sample.x, np.eye(len(output))[np.argmax(output)])


def planted_zeros(network, layer):
    """The Ψ gradient with one layer's entries replaced by zeros (the loop that stops early)."""
    def gradient(wbar, x, y, reduction="mean"):
        grads = psi_gradient(network, wbar, x, y, reduction)
        grads[layer] = np.zeros_like(grads[layer])
        return grads
    return gradient


# --- false alarms: confident classifiers (the error model's log-sum-exp) ---------------------------------

@pytest.mark.parametrize("scale", [3.0, 10.0])
@pytest.mark.parametrize("method", ["central", "richardson", "forward"])
def test_confident_classifiers_are_never_false_alarms(method, scale):
    """The issue's example: [4,8,3] tanh, softmax-ce, weights ×3 or ×10, one-hot on the predicted class:
    40–50% of seeds failed the correct gradient (FD −9.42556e-08 against −9.42552e-08, tolerance 1.5e-15)."""
    network = Network.from_spec("4,8,3", "tanh", "softmax-ce")
    verdicts = Counter(check_gradient(_confident(network, seed, scale), matrix_psi(network), method=method,
                                      direct=False).verdict for seed in range(20))
    assert verdicts["differ"] == 0 and verdicts["agree"] > 0, verdicts


def _exact_loss(network, z, y):
    """E from the computed z, in 50 digits, from the closed forms (not gradproof's numpy forms)."""
    name, act = network.loss.name, network.activations[-1].name
    z = [mpmath.mpf(float(v)) for v in z]
    y = [mpmath.mpf(float(v)) for v in y]
    if name == "softmax-ce":
        m = max(z)
        log_s = m + mpmath.log(mpmath.fsum(mpmath.exp(t - m) for t in z))
        return -mpmath.fsum(yk * (t - log_s) for yk, t in zip(y, z))
    if name == "bce":
        log_sig = lambda t: -mpmath.log1p(mpmath.exp(-t))  # noqa: E731
        return -mpmath.fsum(yk * log_sig(t) + (1 - yk) * log_sig(-t) for yk, t in zip(y, z))
    forms = {"sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)), "tanh": mpmath.tanh, "identity": lambda t: t,
             "softplus": lambda t: mpmath.log1p(mpmath.exp(t)), "relu": lambda t: max(t, mpmath.mpf(0))}
    if act == "softmax":
        m = max(z)
        e = [mpmath.exp(t - m) for t in z]
        a = [v / mpmath.fsum(e) for v in e]
    else:
        a = [forms[act](t) for t in z]
    total = mpmath.fsum((ak - yk) ** 2 for ak, yk in zip(a, y))
    return total / 2 if name == "half-sse" else total / len(a)


@given(st.one_of(confident(), hard_samples(architectures(max_depth=2, max_width=5))))
def test_the_loss_rounds_within_its_derived_bound(sample):
    """The derivation in output_bounds: fl(E) from the computed z is within δE_loss (plus its second-order
    part) of the exact E at that z, for every loss, confident and saturated outputs included."""
    network = sample.network
    x, y = sample.columns()
    fwd = forward(network, sample.wbar, x, y)
    bounds = output_bounds(network, fwd.z[-1], fwd.output, y)
    allowed = bounds.delta_error(np.zeros_like(fwd.z[-1]))
    for b in range(y.shape[1]):
        exact = _exact_loss(network, fwd.z[-1][:, b], y[:, b])
        assert abs(mpmath.mpf(float(fwd.errors[b])) - exact) <= allowed[b], (b, fwd.errors[b], exact, allowed[b])


@given(confident(), st.sampled_from(METHODS))
def test_random_confident_classifiers_are_never_false_alarms(sample, method):
    result = check_gradient(sample, matrix_psi(sample.network), method=method, direct=False)
    assert result.verdict != "differ", result.report()


@pytest.mark.parametrize("activation, loss", [("swish=z*sigmoid(z)", "logcosh=log(cosh(a - y))"),
                                              ("leaky=Max(z, z/10)", "huber=Piecewise(((a - y)**2/2, Abs(a - y) <= 1), "
                                                                     "(Abs(a - y) - 1/2, True))"),
                                              ("tanh", "focal=-(y*(1 - a)**2*log(a) + (1 - y)*a**2*log(1 - a))")])
def test_your_own_activations_and_losses_are_never_false_alarms(activation, loss):
    """Losses outside the table are bounded under the stated assumption on their formula's rounding; the
    check of a correct gradient never differs on them, weights ×1 to ×10 (every method)."""
    acts, own = resolve(activation, loss, None)
    output = "sigmoid" if "log(a)" in loss else acts[0]
    network = Network.from_spec("3,4,2", [acts[0], output], own)

    @settings(max_examples=15, deadline=None)
    @given(networks(architecture=network, weight_bound=10.0, max_batch=2), st.sampled_from(METHODS))
    def never_differ(sample, method):
        result = check_gradient(sample, matrix_psi(network), method=method, direct=False)
        assert result.verdict != "differ", result.report()

    never_differ()


# --- false alarms: steps too large, underflow ---------------------------------------------------------------

@pytest.mark.parametrize("method, step", [("central", 1.0), ("forward", 10.0), ("central", 1e300),
                                          ("richardson", 3.0), ("complex-step", 1.0)])
def test_steps_too_large_are_never_false_alarms(method, step):
    network = Network.source_text()
    result = check_gradient(random_sample(network, seed=0), method=method, step=step)
    assert result.verdict != "differ", result.report()
    if step >= 10:
        assert result.verdict == "cannot decide" and "step is too large" in result.report()


@given(networks(architecture=architectures(max_depth=3, max_width=4), max_batch=2), st.sampled_from(METHODS),
       st.floats(-30, 300))
def test_any_step_either_decides_correctly_or_says_it_cannot(sample, method, log_step):
    """A correct gradient never differs, whatever the step; where the check agrees it could have failed:
    zeros planted in any layer differ."""
    step = 10.0 ** log_step
    network = sample.network
    result = check_gradient(sample, matrix_psi(network), method=method, step=step, direct=False)
    assert result.verdict != "differ", result.report()
    if result.verdict == "agree":
        for layer in range(network.depth):
            planted = check_gradient(sample, planted_zeros(network, layer), method=method, step=step, direct=False)
            assert planted.verdict == "differ", planted.report()


@given(networks(architecture=architectures(max_depth=3, max_width=5), max_batch=2), st.sampled_from(METHODS))
def test_the_direction_tier_agrees_only_where_each_layer_could_have_failed(sample, method):
    """--quick: ⟨∇E, v⟩ alone could hide a wrong layer whose share of v is below the tolerance; the tier
    agrees only when each layer's part is resolved, so zeros planted in any layer never pass."""
    network = sample.network
    result = check_gradient(sample, matrix_psi(network), method=method, tier="direction", direct=False)
    assert result.verdict != "differ", result.report()
    for layer in range(network.depth):
        planted = check_gradient(sample, planted_zeros(network, layer), method=method, tier="direction",
                                 direct=False)
        assert planted.verdict != "agree" or not np.any(psi_gradient(network, sample.wbar, *sample.columns())[layer])


def test_a_subnormal_derivative_is_not_a_false_alarm_for_any_method():
    """The issue's complex-step example: [1,1] softplus, z = −741 (σ(z) ≈ 1.5e-322), x = 100, y = −1000:
    the complex step read the underflowed slope as 0 and failed the correct gradient (share 7.4e4)."""
    network = Network.from_spec("1,1", "softplus")
    sample = make_sample(network, [np.array([[-741.0, 0.0]])], np.array([100.0]), np.array([-1000.0]))
    for method in METHODS:
        result = check_gradient(sample, method=method, direct=True)
        assert result.verdict == "cannot decide", result.report()


def test_softmax_probabilities_near_underflow_are_not_false_alarms():
    """softmax-ce with |x| ≈ 1e3: one class at e^(−723) ≈ 3e-314, a subnormal ∂E/∂z (the issue's second
    complex-step example), and subnormal gradient entries against the compiled sympy.diff form."""
    network = Network.from_spec("1,3", loss="softmax-ce")
    sample = make_sample(network, [np.array([[0.0, 1.0], [0.0, 0.277], [0.0, 0.99]])], np.array([1000.0]),
                         np.array([1.0, 0.0, 0.0]))
    for method in METHODS:
        result = check_gradient(sample, method=method, direct=True)
        assert result.verdict != "differ", result.report()


@given(tiny_gradients(), st.sampled_from(METHODS))
def test_tiny_and_subnormal_gradients_are_never_false_alarms(sample, method):
    result = check_gradient(sample, matrix_psi(sample.network), method=method, direct=False)
    assert result.verdict != "differ", result.report()


# --- silent passes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, step", [("central", 1e-16), ("forward", 1e-14), ("central", 1e-30),
                                          ("richardson", 1e-18)])
@pytest.mark.parametrize("mistake", ["missing-a-prime", "bias-column-kept", "zeros", "sign"])
def test_steps_below_the_resolution_never_pass_a_wrong_gradient(method, step, mistake):
    """The issue's examples on [24,40,20,10]: every finite difference 0, every tolerance ≥ 1e3: classic
    mistakes, zeros and a flipped sign passed."""
    network = Network.from_spec("24,40,20,10")
    sample = random_sample(network, seed=0)
    if mistake == "zeros":
        gradient = lambda wbar, x, y, reduction="mean": [np.zeros_like(w) for w in wbar]  # noqa: E731
    elif mistake == "sign":
        gradient = lambda wbar, x, y, reduction="mean": [-g for g in psi_gradient(network, wbar, x, y, reduction)]  # noqa: E731,E501
    else:
        gradient = as_gradient(NUMERIC_MISTAKES[mistake], network)
    result = check_gradient(sample, gradient, method=method, step=step, direct=False)
    assert result.verdict == "cannot decide" and result.resolved == 0, result.report()
    assert "could not have failed" in result.report()


@given(networks(architecture=architectures(min_depth=2, max_depth=3, max_width=4, bias=True), max_batch=2),
       st.sampled_from(sorted(NUMERIC_MISTAKES)), st.sampled_from(METHODS), st.floats(-30, 2))
def test_a_gradient_wrong_beyond_twice_its_tolerance_never_agrees(sample, name, method, log_step):
    """Soundness of 'agree': where a catalogued mistake is off the true gradient by more than twice the
    tolerance at some weight, the check differs or cannot decide, at any step."""
    network = sample.network
    mistake = NUMERIC_MISTAKES[name]
    wrong = as_gradient(mistake, network)
    result = check_gradient(sample, wrong, method=method, step=10.0 ** log_step, direct=False)
    if result.verdict == "agree":
        x, y = sample.columns()
        truth = psi_gradient(network, sample.wbar, x, y)
        with np.errstate(all="ignore"):
            theirs = wrong(sample.wbar, x, y)
        for t, g, tol in zip(truth, theirs, result.comparison.tolerance):
            assert np.all(np.abs(t - g) <= 2 * tol), result.report()


# --- samples, strategies, hypothesis runs -------------------------------------------------------------------

def test_softmax_targets_must_be_a_probability_vector():
    network = Network.from_spec("2,3,3", "tanh", "softmax-ce")
    good = random_sample(network, seed=0)
    with pytest.raises(InputError, match="must be a probability vector.*summing to 1.5"):
        make_sample(network, good.wbar, good.x, np.array([0.5, 0.5, 0.5]))
    with pytest.raises(InputError, match="must be a probability vector"):
        make_sample(network, good.wbar, good.x, np.array([1.5, -0.5, 0.0]))
    bce = Network.from_spec("2,2", loss="bce")
    with pytest.raises(InputError, match=r"must lie in \[0, 1\]"):
        make_sample(bce, random_sample(bce).wbar, [0.0, 0.0], [0.0, 1.5])


@settings(max_examples=200)
@given(networks())
@pytest.mark.deferred
def test_drawn_targets_are_never_tiny(sample):
    values = np.abs(sample.y[sample.y != 0])
    assert values.size == 0 or values.min() >= 1e-6


def test_hypothesis_runs_of_a_correct_backward_never_raise_undecidable(recwarn):
    """The issue's example: a correct backward on drawn networks raised FiniteDifferenceUnreliable (weights up
    to 1000; central with weights up to 10). Undecidable draws are redrawn and counted, never passed."""
    def backward_for(network):
        return lambda wbar, x, y: psi_gradient(network, wbar, x[:, None], y[:, None])
    for options in (dict(weight_bound=1000.0), dict(weight_bound=10.0, method="central")):
        summary = assert_backward_correct_on_networks(backward_for, architectures(), max_examples=25, **options)
        assert isinstance(summary, NetworksChecked) and summary.agreed > 0


def test_hypothesis_runs_still_catch_a_wrong_backward():
    def backward_for(network):
        return lambda wbar, x, y: [2 * g for g in psi_gradient(network, wbar, x[:, None], y[:, None])]
    with pytest.raises(GradientMismatch):
        assert_backward_correct_on_networks(backward_for, architectures(max_depth=1, max_width=2), max_examples=10)


# --- user code ---------------------------------------------------------------------------------------------

NETWORK = Network.from_spec("2,3,2")


@pytest.mark.parametrize("function, message", [
    (attacks.exits, r"called sys.exit\(0\)"), (attacks.hard_exit, r"called os._exit\(0\)"),
    (attacks.base_exception, "raised Stop: stop"), (attacks.hangs, "did not return within 0.5 s")])
def test_python_api_user_code_is_guarded(function, message):
    with pytest.raises(BackwardPassError, match=message):
        check_backward(function, NETWORK, timeout=0.5)


def test_a_cancelled_timer_still_stops_the_call():
    """The watchdog signals again past the limit (control: the plain hang above, stopped by the timer)."""
    with pytest.raises(BackwardPassError, match="did not return within 0.5 s"):
        check_backward(attacks.hangs_past_a_cancelled_timer, NETWORK, timeout=0.5)


@pytest.mark.deferred
def test_an_ignored_alarm_ends_the_process_with_one_line_and_status_2(tmp_path):
    code = ("import sys; sys.path.insert(0, %r); import user_code_attacks as a\n"
            "from gradproof.numeric.checks.backward import check_backward\n"
            "from gradproof.derive.model.network import Network\n"
            "check_backward(a.hangs_ignoring_the_alarm, Network.from_spec('2,3,2'), timeout=0.5)\n"
            "print('judged')\n") % str(HERE)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "judged" not in done.stdout
    assert "ran past the time limit (0.5 s)" in done.stderr and "Traceback" not in done.stderr


def test_python_api_prints_and_mutations_do_not_move_the_verdict(capsys):
    assert check_backward(attacks.prints, NETWORK).verdict == "differ"
    out, err = capsys.readouterr()
    assert "debug" not in out and "[your backward pass printed] debug: called" in err
    assert check_backward(attacks.moves_the_target, NETWORK).verdict == "differ"
    before = np.geterr()
    try:
        saturated = make_sample(NETWORK, [w * 2000 for w in random_sample(NETWORK).wbar], [0.3, -0.2], [0.1, 0.9])
        assert check_backward(attacks.traps_and_mutates, NETWORK).verdict == "differ"
        assert check_backward(attacks.traps_and_mutates, NETWORK, saturated).verdict != "agree"
    finally:
        np.seterr(**before)


def _cli(capfd, *args):
    status = main(list(args))
    out, err = capfd.readouterr()
    return status, out, err


@pytest.mark.parametrize("name, message", [
    ("exits", r"called sys.exit(0)"), ("hard_exit", r"called os._exit(0)"), ("killed", "ended its process (signal 9)"),
    ("hangs", "did not return within 1 s"), ("base_exception", "raised Stop: stop"),
    ("interrupts", "raised KeyboardInterrupt")])
@pytest.mark.sampled(2)
def test_command_line_user_code_ends_as_one_line(capfd, name, message):
    status, out, err = _cli(capfd, "check", "--layers", "2,3,2", "--backward",
                            f"{HERE / 'user_code_attacks.py'}:{name}", "--timeout", "1", "--json")
    assert status == 2 and json.loads(out)["ok"] is False and message in json.loads(out)["error"]
    assert "Traceback" not in err


def test_command_line_user_code_cannot_reach_stdout_or_the_reference(capfd):
    for name in ("prints", "moves_the_target", "traps_and_mutates"):
        status, out, err = _cli(capfd, "check", "--layers", "2,3,2", "--backward",
                                f"{HERE / 'user_code_attacks.py'}:{name}", "--json")
        assert status == 1 and json.loads(out)["verdict"] == "differ", (name, out, err)
    status, out, err = _cli(capfd, "check", "--backward", f"{HERE / 'user_exits.py'}:backward")
    assert status == 2 and "called sys.exit(0)" in err and out == ""
    status, out, err = _cli(capfd, "check", "--backward", f"{HERE / 'user_hard_exits.py'}:backward")
    assert status == 2 and "called os._exit(0)" in err and out == ""


def test_mistakes_that_give_the_same_numbers_are_one_diagnosis_not_two():
    """Where two catalogued mistakes give the same gradient (an identity output under mse: the half-sse rule
    and the cross-entropy shortcut are both a − y), the report says so in one sentence."""
    network = Network.from_spec("3,3,3", "identity", "mse")
    result = check_gradient(random_sample(network, seed=1), as_gradient(NUMERIC_MISTAKES["half-sse-rule-with-mse"],
                                                                        network), direct=False)
    looks = [d for d in result.diagnosis if "looks like" in d]
    assert result.verdict == "differ" and len(looks) == 1
    assert "half-sse-rule-with-mse" in looks[0] and "cross-entropy-shortcut" in looks[0]


# --- tracebacks, messages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["check", "--layers", "100000,100000"], "of memory"), (["check", "--batch", "1000000000"], "of memory"),
    (["check", "--layers", "99999999999999999999,2"], "of memory"), (["gradient", "--seed", "-1"], "seed"),
    (["plot", "error-vs-step", "-o", "missing-dir/c.png"], "does not exist"),
    (["latex", "-o", "adir.tex"], "that is a folder")])
def test_bad_sizes_seeds_and_paths_are_one_line(capfd, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir.tex").mkdir()
    status, _, err = _cli(capfd, *args)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_plot_error_vs_step_with_relu(tmp_path, capfd):
    pytest.importorskip("matplotlib")
    status, _, err = _cli(capfd, "plot", "error-vs-step", "--activation", "relu", "-o", str(tmp_path / "e.png"))
    assert status == 0 and (tmp_path / "e.png").stat().st_size > 0 and "Traceback" not in err


def test_a_broken_pipe_ends_quietly():
    command = f"{sys.executable} -m gradproof gradient --layers 30,30,10 | head -c 100 > /dev/null"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    assert "Traceback" not in done.stderr and done.returncode in (0, 141)


def test_precision_warnings_are_one_line_and_true(capfd):
    status, out, err = _cli(capfd, "check", "--layers", "2,3,2", "--backward",
                            f"{HERE / 'user_float32.py'}:backward")
    warnings = [line for line in err.splitlines() if line.strip()]
    assert status == 0 and len(warnings) == 1 and warnings[0].startswith("gradproof: warning: ∂E/∂W̄[0], ∂E/∂W̄[1] are "
                                                                         "float32")
    assert "float32 tolerances" in out


def test_a_float32_backward_is_held_to_float32_and_still_caught():
    def backward(wbar, x, y, factor=1.0):
        grads = psi_gradient(NETWORK, wbar, x[:, None], y[:, None])
        grads[1][0, 1] *= factor
        return [g.astype(np.float32) for g in grads]
    with pytest.warns(UserWarning):
        assert check_backward(backward, NETWORK).verdict == "agree"
        wrong = check_backward(lambda w, x, y: backward(w, x, y, 1.001), NETWORK)
    assert wrong.verdict == "differ" and [str(r.weight) for r in wrong.failures] == ["1,1,1"]


def test_a_float16_gradient_is_held_to_float16_and_a_twenty_percent_error_still_caught():
    """Found attacking the README: the underflow floor of a coarser dtype was its smallest normal number
    (6e-5 for float16, times the operations: ±3.5e-3 on gradients of ~1e-2), which let a 20% error pass;
    it is the smallest subnormal. (Float16's own bound here is ~9% of these gradients: a 1% error is
    within what a correct float16 program may round to, and agrees at float16 precision, as reported.)"""
    network = Network.source_text()

    def backward(wbar, x, y, factor=1.0):
        grads = psi_gradient(network, wbar, x[:, None], y[:, None])
        grads[0] = grads[0] * factor
        return [g.astype(np.float16) for g in grads]
    with pytest.warns(UserWarning, match="float16"):
        assert check_backward(backward, network).verdict == "agree"
        assert check_backward(lambda w, x, y: backward(w, x, y, 1.2), network).verdict == "differ"


def test_a_longdouble_gradient_is_not_called_coarser():
    def backward(wbar, x, y):
        return [g.astype(np.longdouble) for g in psi_gradient(NETWORK, wbar, x[:, None], y[:, None])]
    with pytest.warns(UserWarning, match="rounded to float64") as caught:
        assert check_backward(backward, NETWORK).verdict == "agree"
    assert all("far above" not in str(w.message) for w in caught)


def test_an_internal_error_is_one_line_with_its_own_status(capfd, monkeypatch):
    from gradproof.cli import numeric
    monkeypatch.setattr(numeric, "check_gradient", lambda *a, **k: 1 / 0)
    status, _, err = _cli(capfd, "check")
    assert status == 70 and "internal error: ZeroDivisionError" in err and len(err.strip().splitlines()) == 1


def test_the_error_model_is_linear_in_the_output_width():
    """The Hessian bound at the output is a closed form applied to a vector (no n×n matrix, no loop over the
    units): a 4000-unit output costs what a small one does per unit; and it bounds the true |∂²E/∂z²|."""
    for spec, act, loss in (("3,5", "softmax", "softmax-ce"), ("3,5", "softmax", "mse"),
                            ("3,5", "sigmoid", "bce"), ("3,5", "tanh", "half-sse")):
        network = Network.from_spec(spec, act, loss)
        sample = random_sample(network, seed=1)
        x, y = sample.columns()
        fwd = forward(network, [w * 3 for w in sample.wbar], x, y)
        bounds = output_bounds(network, fwd.z[-1], fwd.output, y)
        z = fwd.z[-1][:, 0]

        def gradient_at(point):
            exact = [mpmath.mpf(float(v)) for v in point]
            return [mpmath.diff(lambda t, k=k: _exact_loss(network, exact[:k] + [t] + exact[k + 1:], y[:, 0]),
                                exact[k]) for k in range(len(exact))]
        step = 1e-6
        for j in range(len(z)):
            moved = z.copy()
            moved[j] += step
            column = [float(abs(a - b)) / step for a, b in zip(gradient_at(moved), gradient_at(z))]
            unit = np.zeros((len(z), 1))
            unit[j] = 1
            assert np.all(np.array(column) <= bounds.hessian(unit)[:, 0] * 1.01 + 1e-9), (spec, act, loss, j)
    big = Network.from_spec("2,4000", "softmax", "softmax-ce")
    sample = random_sample(big, seed=0)
    fwd = forward(big, sample.wbar, *sample.columns())
    assert output_bounds(big, fwd.z[-1], fwd.output, sample.columns()[1]).hessian(np.ones((4000, 1))).shape == (4000, 1)
