"""prove_layer: hand-written layers traced into sympy and proven, the zoo's planted bugs refuted with
counterexamples that a finite difference confirms, what cannot be traced named with its line, and attacks."""

from __future__ import annotations

import inspect
import json
import logging
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gradproof import prove_layer
from gradproof.derive.errors import InputError
from gradproof.derive.proof.algebraic import components, decide_zero
from gradproof.derive.proof.packed import WIDTH, Packed
from gradproof.derive.proof.derivative import Differentiator
from gradproof.derive.symbolic.functions import sigmoid
from gradproof.derive.trace.element import Recorder, Root, Untraceable, recording
from gradproof.derive.trace.run import symbol_array
from tests.zoo import layers as L
from tests.zoo.bugs import BUGS
from tests.zoo.cases import BUG_CASES, CASES, COURSE

ZOO = Path(__file__).parent / "zoo"
#: cases whose proof takes more than a few seconds at the zoo's sizes (run with -m slow)
SLOW_CASES = {"spatial_batchnorm", "spatial_batchnorm_gamma4d", "spatial_groupnorm", "spatial_groupnorm_gamma1d",
              "lstm", "rnn", "conv_naive", "conv_im2col", "conv_naive_stride1", "conv_im2col_stride1"}
#: one bug of each kind of mistake runs by default; every bug runs under -m slow
FAST_BUGS = {"affine_dx_not_reshaped", "relu_mask_from_dout", "leaky_relu_slopes_swapped", "sigmoid_sign",
             "tanh_not_squared", "linear_sum_dy_negated", "batchnorm_statistics_constant", "layernorm_dgamma_mean",
             "dropout_no_rescale", "max_pool_overwrite", "max_pool_ties_to_all", "avg_pool_no_divide",
             "softmax_loss_one_hot_forgotten", "svm_loss_correct_class_once", "logcosh_loss_sinh",
             "temporal_softmax_loss_mask_ignored", "word_embedding_fancy_add", "rnn_step_dprev_h_untransposed"}


def _prove(case, args, **options):
    return prove_layer(case.forward, case.backward, args, kind=None if case.backward else "loss",
                       inputs=list(case.differentiable), **options)


# ----------------------------------------------------------------------------- the pieces

def test_a_comparison_is_answered_at_the_point_and_recorded():
    recorder = Recorder()
    with recording(recorder):
        x = symbol_array("x", np.array([0.5, -2.0]))
        relu = np.maximum(x, 0.0)
    assert [entry.expr for entry in relu] == [sp.Symbol("x[0]", real=True), 0]
    assert {c.text() for c in recorder.conditions.values()} == {"x[0] > 0", "-x[1] > 0"}


def test_a_comparison_at_its_boundary_is_refused_not_guessed():
    with recording(Recorder()):
        x = symbol_array("x", np.array([1.0, 1.0]))
        with pytest.raises(Exception, match="at the point"):
            bool(x[0] > x[1])


def test_a_cast_to_float_names_the_operation_and_the_line():
    with recording(Recorder()):
        x = symbol_array("x", np.array([1.0]))
        with pytest.raises(Untraceable, match=r"cannot trace: float\(\).* at test_prove_layer.py:\d+"):
            float(x[0])


@pytest.mark.deferred
def test_the_memoized_derivative_is_sympys():
    x, y = sp.symbols("x y", real=True)
    u = x * y + sp.tanh(x) ** 2 - 3
    for expr in [sp.exp(u) / (1 + sigmoid(x * u)), Root(u ** 2 + 1) * sp.log(x ** 2 + 1), u ** -3 * sp.sinh(y)]:
        d = Differentiator()
        for v in (x, y):
            assert sp.simplify(d(expr, v) - sp.diff(expr, v)) == 0


def test_square_roots_are_reduced_and_other_differences_are_not_called_zero():
    x, y = sp.symbols("x y", real=True)
    s = Root(x ** 2 + y ** 2 + 1)
    assert decide_zero([s ** 2 - x ** 2 - y ** 2 - 1, 1 / s * s ** 3 - s ** 2, (x ** 2 - 1) / (x - 1) - x - 1])
    assert decide_zero([s - x ** 2 - y ** 2 - 1, s ** 3 - s, sp.exp(x) * sp.exp(-x) - 2]) == [False] * 3


def test_sigmoid_rule_used_by_the_tracer_is_the_derivative_of_the_closed_form():
    z = sp.Symbol("z", real=True)
    assert sp.simplify(sp.diff(1 / (1 + sp.exp(-z)), z) - sigmoid(z).fdiff().rewrite(sp.exp)
                       .subs(sigmoid(z), 1 / (1 + sp.exp(-z)))) == 0


# ----------------------------------------------------------------------------- the zoo

@pytest.mark.parametrize("name", [n for n in CASES if n not in SLOW_CASES and CASES[n].deterministic])
@pytest.mark.sampled(8)
def test_every_correct_zoo_layer_is_proven(name):
    case = CASES[name]
    proof = _prove(case, case.make_args(np.random.default_rng(0)))
    assert proof.ok, proof.report()
    assert proof.sizes


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_CASES))
def test_every_slow_correct_zoo_layer_is_proven(name):
    case = CASES[name]
    assert _prove(case, case.make_args(np.random.default_rng(0))).ok


#: the slow cases' layers at smaller sizes, so that each kind of layer is proven in the default suite
SMALL = {
    "spatial_batchnorm": lambda rng: [rng.standard_normal((2, 2, 2, 2)) + 0.5, rng.uniform(0.5, 1.5, 2),
                                      rng.standard_normal(2), {"mode": "train", "eps": 1e-5}],
    "spatial_groupnorm": lambda rng: [rng.standard_normal((1, 4, 2, 2)), rng.uniform(0.5, 1.5, (1, 4, 1, 1)),
                                      rng.standard_normal((1, 4, 1, 1)), 2, {"eps": 1e-5}],
    "lstm": lambda rng: [rng.standard_normal((1, 2, 2)), rng.standard_normal((1, 2)),
                         0.5 * rng.standard_normal((2, 8)), 0.5 * rng.standard_normal((2, 8)),
                         0.5 * rng.standard_normal(8)],
    "rnn": lambda rng: [rng.standard_normal((1, 2, 2)), rng.standard_normal((1, 3)), 0.5 * rng.standard_normal((2, 3)),
                        0.5 * rng.standard_normal((3, 3)), 0.5 * rng.standard_normal(3)],
    "conv_naive": lambda rng: [rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)),
                               rng.standard_normal(2), {"stride": 1, "pad": 1}],
    "conv_im2col": lambda rng: [rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3)),
                                rng.standard_normal(2), {"stride": 2, "pad": 1}],
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.sampled(2)
def test_each_slow_layer_is_proven_at_a_small_size_in_the_default_suite(name):
    case = CASES[name]
    args = SMALL[name](np.random.default_rng(1))
    proof = _prove(case, args)
    assert proof.ok, proof.report()
    assert proof.sizes[proof.entries[0].input] == np.shape(args[0])


def test_an_unseeded_random_forward_is_not_proven():
    case = CASES["dropout_unseeded"]
    proof = _prove(case, case.make_args(np.random.default_rng(0)))
    assert not proof.ok and not proof.refuted
    assert "not a function of its inputs" in proof.report() and "np.random at layers.py" in proof.report()


def _finite_difference(case, args, proof, entry, h=1e-6):
    """Central difference of E = ⟨G, out⟩ (a loss: the loss) at the traced point, in float64."""
    position = list(case.differentiable)[[g[1:] for g in case.grads].index(entry.input)]
    point = proof.point
    args = list(args)
    values = np.vectorize(lambda s: point[s])(symbol_names(entry.input, np.shape(args[position])))

    def energy(x):
        call = list(args)
        call[position] = x
        result = case.forward(*[a.copy() if isinstance(a, np.ndarray) else dict(a) if isinstance(a, dict) else a
                                for a in call])
        if case.backward is None:
            return result[0]
        outs = result[:-1]
        return sum(float(np.sum(np.vectorize(lambda s: point[s])(symbol_names("G" if len(outs) == 1 else f"G{k + 1}",
                                                                                np.shape(o))) * o))
                   for k, o in enumerate(outs))
    for p, name in zip(case.differentiable, [gr[1:] for gr in case.grads]):
        if p != position:
            args[p] = np.vectorize(lambda s: point[s])(symbol_names(name, np.shape(args[p])))
    plus, minus = values.copy(), values.copy()
    plus[entry.index] += h
    minus[entry.index] -= h
    high, low = energy(plus), energy(minus)
    # error model: a few ulps of |E| per evaluation (64, to cover the sums) over 2h, plus the truncation
    # h^2/6 |f'''| with |f'''| taken as at most 1e3 at these points
    bound = 64 * np.finfo(float).eps * max(abs(high), abs(low), 1.0) / (2 * h) + h ** 2 / 6 * 1e3
    return (high - low) / (2 * h), bound


def symbol_names(name, shape):
    names = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        names[index] = f"{name}[{','.join(map(str, index))}]" if shape else name
    return names


def _check_bug(bug):
    case = CASES[bug.layer]
    args = BUG_CASES[bug.name](np.random.default_rng(0))
    proof = prove_layer(bug.forward, bug.backward, args, kind=None if bug.backward else "loss",
                        inputs=list(case.differentiable))
    if bug.name == "max_pool_ties_to_all":  # ties: not differentiable there; traced off the boundary
        assert proof.ok and "branch boundary" in proof.notes[0]
        return
    refuted = {e.input for e in proof.refuted}
    assert refuted == {g[1:] for g in bug.wrong_inputs}, proof.report()
    assert "REFUTED" in proof.report()
    for entry in [e for e in proof.refuted if e.counterexample.shape == ""][:3]:
        fd, bound = _finite_difference(case, args, proof, entry)
        direct, claimed = float(entry.counterexample.direct), float(entry.counterexample.claimed)
        assert abs(fd - direct) <= bound, (entry.name, fd, direct, bound)
        assert abs(fd - claimed) > bound, (entry.name, fd, claimed, bound)


@pytest.mark.parametrize("bug", [b for b in BUGS if b.name in FAST_BUGS], ids=lambda b: b.name)
@pytest.mark.sampled(6)
def test_every_planted_bug_is_refuted_where_the_numbers_say_it_is_wrong(bug):
    _check_bug(bug)


@pytest.mark.slow
@pytest.mark.parametrize("bug", [b for b in BUGS if b.name not in FAST_BUGS], ids=lambda b: b.name)
def test_every_slow_planted_bug_is_refuted(bug):
    _check_bug(bug)


@pytest.mark.parametrize("name", sorted(COURSE))
def test_the_course_module_proven_refuted_or_cannot_trace_never_a_traceback(name):
    course = COURSE[name]
    args = course.make_args(np.random.default_rng(0))
    try:
        proof = prove_layer(course.forward, course.backward, args, kind=None if course.backward else "loss",
                            inputs=list(course.differentiable))
    except InputError as error:
        assert str(error).startswith("cannot trace:") and "\n" not in str(error)
        assert course.status in ("pass_body", "returns_none", "not_implemented", "python2", "backward_raises")
        assert ".py:" in str(error)
        return
    expected = {"correct": "proven", "mutates_input": "proven", "prints": "proven", "zeros": "refuted",
                "unseeded_random": "undecided"}[course.status]
    assert proof.status == expected, proof.report()


# ----------------------------------------------------------------------------- untraceable and adversarial

def _inverse_forward(x):
    return np.linalg.inv(x), x


def _float_cast_forward(x):
    return x.astype(float) * 2, None


def test_linalg_and_casts_stop_with_the_operation_and_the_line():
    with pytest.raises(Untraceable, match=r"cannot trace: np.linalg.inv at test_prove_layer.py:\d+"):
        prove_layer(_inverse_forward, lambda d, c: d, (np.eye(2) + 0.1,))
    with pytest.raises(Untraceable, match=r"astype\(float64\).* at test_prove_layer.py:\d+"):
        prove_layer(_float_cast_forward, lambda d, c: 2 * d, (np.ones(2),))


def _sniffing_backward(dout, cache):
    x = cache
    right = dout * (x > 0)
    return right if x.dtype == object else 2 * right  # correct only when it is being traced


def test_a_backward_that_behaves_differently_on_floats_is_not_proven():
    proof = prove_layer(L.relu_forward, _sniffing_backward, (np.array([[0.5, -1.0, 2.0]]),))
    assert not proof.ok and "float64" in proof.report()


def _size_dependent_backward(dout, cache):
    x = cache
    return dout * (x > 0) * (1 if x.size <= 4 else 2)  # wrong only past the traced size


def test_a_proof_covers_the_sizes_traced_and_says_so():
    small = prove_layer(L.relu_forward, _size_dependent_backward, (np.array([[0.5, -1.0]]),))
    assert small.ok and "covers these sizes only" in small.report() and small.sizes["x"] == (1, 2)
    large = prove_layer(L.relu_forward, _size_dependent_backward, (np.linspace(-1.05, 1, 6).reshape(2, 3),))
    assert large.status == "refuted"


def _off_region_backward(dout, cache):
    x = cache
    right = dout * (x > 0)
    return right if np.sum(x) < 10 else -right  # wrong off the traced region


def test_a_backward_wrong_off_the_region_is_proven_only_on_the_stated_region():
    proof = prove_layer(L.relu_forward, _off_region_backward, (np.array([[0.5, -1.0, 2.0]]),))
    assert proof.ok
    assert any("- 10 < 0" in c or "10 - " in c or "< 10" in c or "-x[0,0]" in c for c in proof.region), proof.region
    wrong = prove_layer(L.relu_forward, _off_region_backward, (np.array([[5.0, -1.0, 7.0]]),))
    assert wrong.status == "refuted"


@pytest.mark.deferred
def test_the_command_line_exit_statuses_and_json():
    def run(*argv):
        return subprocess.run([sys.executable, "-m", "gradproof", "prove-layer", *argv], capture_output=True,
                              text=True, cwd=ZOO, timeout=300)
    proven = run("layers.py:relu", "--json")
    assert proven.returncode == 0 and json.loads(proven.stdout)["ok"] is True
    refuted = run("course_layers.py:avg_pool")
    assert refuted.returncode == 1 and "REFUTED" in refuted.stdout
    untraceable = run("course_layers.py:batchnorm", "--json")
    assert untraceable.returncode == 2 and "cannot trace" in json.loads(untraceable.stdout)["error"]
    assert "Traceback" not in untraceable.stderr


# ----------------------------------------------------------------------------- the decision's arithmetic

def test_packed_polynomials_refuse_an_exponent_that_would_spill_into_its_neighbour():
    ring = Packed(2)
    big = {(1 << (WIDTH - 2)): 1}   # x0 ** 2^(WIDTH-2)
    assert ring.multiply(big, Packed.generator(1)) == {(1 << (WIDTH - 2)) + (1 << WIDTH): 1}
    with pytest.raises(ValueError, match="beyond the packed"):
        ring.multiply(big, big)     # x0 ** 2^(WIDTH-1) would set the guard bit


def test_independent_groups_are_decided_apart_and_alike():
    x, y, z, w = sp.symbols("x y z w", real=True)
    s, t = Root(x ** 2 + 1), Root(z ** 2 + 2)
    differences = [s ** 2 - x ** 2 - 1, y * s - x, t ** 3 - t * (z ** 2 + 2), w * t - z, sp.Integer(0)]
    assert sorted(map(sorted, components(differences))) == [[0, 1], [2, 3], [4]]
    assert decide_zero(differences) == [True, False, True, False, True]


def test_exponentials_of_float_constants_share_an_unknown_without_huge_powers():
    x = sp.Symbol("x", real=True)
    y = sp.Rational(5235503865144195, 2251799813685248)   # a float constant, exactly
    same = sp.exp(-2 * x - 2 * y) * sp.exp(x + y) ** 2 - 1
    other = sp.exp(x + y) ** 2 - sp.exp(3 * x + 3 * y)
    assert decide_zero([same, other], exponentials=True) == [True, False]


def test_a_root_of_a_fraction_stays_opaque_undecided_not_an_error():
    x, y = sp.symbols("x y", real=True)
    r = Root(x / y)
    assert decide_zero([r ** 2 - x / y, r - r]) == [False, True]


# ----------------------------------------------------------------------------- adversarial round 2

def _sniff_refute_backward(dout, cache):
    x = cache
    right = dout * (x > 0)
    return 2 * right if x.dtype == object else right   # wrong only while traced: on floats it is right


STATE = {"scale": 1.0}


def _stateful_forward(x):
    return STATE["scale"] * np.maximum(x, 0.0), x


def _stateful_backward(dout, cache):
    STATE["scale"] = 2.0   # from now on the forward doubles: the code is not a function of its inputs
    return dout * (cache > 0)


def _tiny_backward(dout, cache):
    right = dout * (cache > 0)
    if cache.dtype != object:   # 1e-7 off on floats only: below a loose threshold, far above float64 rounding
        right = right.copy()
        right.flat[0] += 1e-7 * np.max(np.abs(right))
    return right


@pytest.mark.parametrize("forward, backward, what", [
    (L.relu_forward, _sniff_refute_backward, "computes a different dx"),
    (_stateful_forward, _stateful_backward, "computes a different out"),
    (L.relu_forward, _tiny_backward, "more than its float64 rounding can explain")])
def test_code_that_runs_differently_on_floats_gets_no_verdict_either_way(forward, backward, what):
    STATE["scale"] = 1.0
    proof = prove_layer(forward, backward, (np.array([[0.5, -1.0, 2.0], [1.5, -0.3, 0.7]]),))
    assert proof.status == "undecided" and what in proof.report(), proof.report()


def test_the_float_comparison_passes_correct_code_whose_rounding_differs_from_the_trace():
    # numpy sums pairwise and through BLAS, the trace in order: the bound covers any order
    case = CASES["batchnorm"]
    proof = _prove(case, case.make_args(np.random.default_rng(5)))
    assert proof.ok and not proof.diagnosis, proof.report()


# ----------------------------------------------------------------------------- adversarial round 3: one test per class

def _linear_forward(x):
    out = 2 * x
    return out, (x, out)


def _rewrites_output_backward(dout, cache):
    x, out = cache
    out[...] = 3 * x          # the forward's output, rewritten in place so that E would match the wrong 3·dout
    return 3 * dout


def test_a_backward_that_rewrites_the_forwards_output_in_place_is_still_compared_with_the_forward():
    proof = prove_layer(_linear_forward, _rewrites_output_backward, (np.array([[0.5, -1.0, 2.0]]),))
    assert proof.status == "refuted", proof.report()
    assert any("changed the forward's output in place" in note for note in proof.notes)


def _reads_value_backward(dout, cache):
    x = cache
    first = x.flat[0]
    first = getattr(first, "value", first)   # the point's value: a branch on it would not be in the region
    return dout * (x > 0) * (1 if first < 100 else 2)


def _parses_repr_backward(dout, cache):
    x = cache
    first = float(f"{x.flat[0]:.17g}")
    return dout * (x > 0) * (1 if first < 100 else 2)


@pytest.mark.parametrize("backward", [_reads_value_backward, _parses_repr_backward])
def test_code_that_reads_the_point_off_a_traced_value_cannot_be_traced(backward):
    with pytest.raises(InputError, match="cannot trace"):
        prove_layer(L.relu_forward, backward, (np.array([[0.5, -1.0, 2.0]]),))


def _inspects_stack_backward(dout, cache):
    checked = any("derive" in f.filename or "gradproof" in f.filename for f in inspect.stack())
    return dout * (cache > 0) * (1 if checked else 2)


def _inspects_traceback_backward(dout, cache):
    try:
        raise RuntimeError
    except RuntimeError as error:
        caller = error.__traceback__.tb_frame.f_back
    checked = "derive" in caller.f_code.co_filename or "gradproof" in caller.f_code.co_filename
    return dout * (cache > 0) * (1 if checked else 2)


COUNTS = {"calls": 0}


def _counting_backward(dout, cache):
    COUNTS["calls"] += 1      # right on its first three calls: more than gradproof makes
    return dout * (cache > 0) * (1 if COUNTS["calls"] <= 3 else 2)


def _attribute_counting_backward(dout, cache):
    _attribute_counting_backward.calls = getattr(_attribute_counting_backward, "calls", 0) + 1
    return dout * (cache > 0) * (1 if _attribute_counting_backward.calls <= 3 else 2)


def _closure_counting_backward():
    calls = 0

    def backward(dout, cache):
        nonlocal calls
        calls += 1
        return dout * (cache > 0) * (1 if calls <= 3 else 2)
    return backward


def _random_backward(dout, cache):
    return dout * (cache > 0) * (1 if np.random.default_rng().random() < 0.5 else 2)


@pytest.mark.parametrize("backward, what", [
    (_inspects_stack_backward, "inspects the call stack"),
    (_inspects_traceback_backward, "inspects the call stack (tb_frame"),
    (_counting_backward, "changed state kept between calls"),
    (_attribute_counting_backward, "_attribute_counting_backward.__dict__"),
    (_closure_counting_backward(), "closure variable calls"),
    (_random_backward, "the backward draws random numbers (np.random at test_prove_layer.py:")], ids=["stack", "traceback", "global", "attribute", "closure", "random"])
def test_code_that_can_behave_otherwise_when_not_checked_gets_no_verdict(backward, what):
    COUNTS["calls"] = 0
    for _ in range(3):   # the random one: right and wrong each with probability 1/2 per call
        proof = prove_layer(L.relu_forward, backward, (np.array([[0.5, -1.0, 2.0], [1.5, -0.3, 0.7]]),))
        assert proof.status == "undecided" and what in proof.report(), proof.report()


def _logging_backward(dout, cache):
    logging.getLogger("gradproof-test-user").warning("backward called")   # logging looks up frames itself
    return dout * (cache > 0)


def test_correct_code_that_logs_is_still_proven():
    proof = prove_layer(L.relu_forward, _logging_backward, (np.array([[0.5, -1.0, 2.0]]),))
    assert proof.ok and not proof.diagnosis, proof.report()


@pytest.mark.parametrize("x", [np.array([[0.0, -1.0, 2.0]]), np.array([[1e-300, -1.0, 2.0]])])
def test_relu_at_its_kink_is_moved_off_it_and_says_so(x):
    """x = 0 exactly: relu is not differentiable there; either mask (x > 0 or x >= 0) is proven off it."""
    def ge_backward(dout, cache):
        return dout * (cache >= 0)
    for backward in (L.relu_backward, ge_backward):
        proof = prove_layer(L.relu_forward, backward, (x,))
        assert proof.ok and "branch boundary" in proof.notes[0], proof.report()


def test_max_pooling_with_ties_is_moved_off_them_and_a_wrong_routing_still_refuted():
    case = CASES["max_pool"]
    args = case.make_args(np.random.default_rng(0))
    args[0] = np.round(args[0])          # whole numbers: many ties in the windows
    proof = _prove(case, args)
    assert proof.ok and "branch boundary" in proof.notes[0], proof.report()
    bug = next(b for b in BUGS if b.name == "max_pool_overwrite")
    assert prove_layer(bug.forward, bug.backward, args, inputs=[0]).status == "refuted"


def _swallows_cast_backward(dout, cache):
    try:
        first = float(cache.flat[0])      # cannot be traced: caught, and the trace would go on without it
    except Exception:   # noqa: BLE001 - the attack
        first = 0.0
    return dout * (cache > 0) * (1 if first < 100 else 2)


def _swallows_boundary_backward(dout, cache):
    try:
        big = bool(cache.flat[0] > 0.5)   # at the point x[0,0] = 0.5: too close to call, caught
    except Exception:   # noqa: BLE001 - the attack
        big = False
    return dout * (cache > 0) * (2 if big else 1)


def test_an_untraceable_operation_caught_by_the_code_still_stops_the_trace():
    with pytest.raises(InputError, match=r"cannot trace: float\(\).*caught the error and went on.* at test_prove_layer"):
        prove_layer(L.relu_forward, _swallows_cast_backward, (np.array([[0.5, -1.0, 2.0]]),))


def test_a_boundary_caught_by_the_code_moves_the_point_and_the_branch_is_in_the_region():
    proof = prove_layer(L.relu_forward, _swallows_boundary_backward, (np.array([[0.5, -1.0, 2.0]]),))
    assert "branch boundary" in proof.notes[0]
    assert any(c.startswith(("x[0,0] - 1/2", "1/2 - x[0,0]")) for c in proof.region), proof.region
    assert proof.status in ("proven", "refuted")   # proven where x[0,0] < 1/2, refuted where it is above


UNUSED_RNG = np.random.default_rng(0)   # module state the layers below leave alone, or advance


def _sin_forward(x):
    return np.sin(x) * x, x


def _sin_backward(dout, x):
    return dout * (np.cos(x) * x + np.sin(x))


def _advancing_forward(x):
    UNUSED_RNG.random()      # draws from a module-level generator: its state is kept between calls
    return np.sin(x) * x, x


def test_sin_and_cos_are_traced_and_untouched_module_state_is_not_a_change():
    x = np.array([[0.3, -1.2, 2.0]])
    assert prove_layer(_sin_forward, _sin_backward, (x,)).ok
    wrong = prove_layer(_sin_forward, lambda d, c: d * np.cos(c), (x,))
    assert wrong.status == "refuted"
    drawn = prove_layer(_advancing_forward, _sin_backward, (x,))
    assert drawn.status == "undecided" and "UNUSED_RNG" in drawn.report(), drawn.report()


class _AffineClass:
    def __init__(self):
        self.W = np.ones((2, 2))

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, dout):
        self.dW = self.x.T @ dout
        return dout @ self.W.T


def test_a_class_is_one_line_naming_it_not_a_traceback():
    with pytest.raises(InputError, match=r"^cannot trace: a class layer is not traced .*still stands$"):
        prove_layer(_AffineClass(), None, (np.ones((1, 2)),))


def _python_random_backward(dout, cache):
    return dout * (cache > 0) * (1 if random.random() < 0.5 else 2)


def test_a_backward_drawing_from_pythons_random_module_gets_no_verdict():
    proof = prove_layer(L.relu_forward, _python_random_backward, (np.array([[0.5, -1.0, 2.0]]),))
    assert proof.status == "undecided" and "draws random numbers (random.random at test_prove_layer.py:" in proof.report()
