"""The Ψ gradient's fast path (gradproof.numeric.compiled.planned) gives the step-by-step recurrence's numbers
bit for bit, stands in for no overridden step, and never writes an array a caller still holds."""

import gc
import threading
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradproof.derive.model.network import Network
from gradproof.numeric.checks.check import random_direction
from gradproof.numeric.checks.mistakes import NUMERIC_MISTAKES
from gradproof.numeric.compiled import planned
from gradproof.numeric.compiled.matrix import MATRIX_PSI, MatrixRecurrence, error, psi_gradient
from gradproof.numeric.differences.error_model import ETA, error_model
from gradproof.numeric.samples import random_sample
from gradproof.numeric.strategies.networks import architectures, networks

#: the complex step's step (as in test_complex_step: its truncation H² is below the smallest normal number)
H = 1e-160
DRAWN = networks(architecture=architectures(max_depth=3, max_width=5), max_batch=4)


class StepByStep(MatrixRecurrence):
    """The recurrence itself, one overridden (unchanged) step away from the fast path."""

    def propagate(self, network, wbar, fwd, layer, psi):
        return super().propagate(network, wbar, fwd, layer, psi)


STEP_BY_STEP = StepByStep()


def _identical(first, second) -> bool:
    """The same arrays: shapes, dtypes and every number (a zero's sign aside, which np.array_equal ignores)."""
    return len(first) == len(second) and all(
        a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(first, second))


def _step_by_step(sample, reduction="mean", wbar=None):
    return STEP_BY_STEP.gradient(sample.network, sample.wbar if wbar is None else wbar, *sample.columns(),
                                 reduction)


#: W̄ as given, in Fortran order, or a strided view of the same numbers
LAYOUTS = {"C": lambda w: w, "F": np.asfortranarray, "strided": lambda w: np.repeat(w, 2, axis=1)[:, ::2]}


@given(DRAWN, st.sampled_from(["mean", "sum"]), st.sampled_from(sorted(LAYOUTS)))
def test_the_fast_path_gives_the_step_by_step_numbers_bit_for_bit(sample, reduction, layout):
    x, y = sample.columns()
    wbar = [LAYOUTS[layout](w) for w in sample.wbar]
    assert planned.planned(sample.network, wbar, x) is not None  # the fast path is taken
    assert _identical(psi_gradient(sample.network, wbar, x, y, reduction), _step_by_step(sample, reduction, wbar))


@given(DRAWN)
def test_complex_weights_go_step_by_step_and_the_complex_step_still_works(sample):
    x, y = sample.columns()
    v, _ = random_direction(0, tuple(w.shape for w in sample.wbar))
    moved = [w + 1j * H * d for w, d in zip(sample.wbar, v)]
    assert planned.planned(sample.network, moved, x) is None
    assert _identical(psi_gradient(sample.network, moved, x, y), _step_by_step(sample, wbar=moved))
    # E at w + i·H·v through the forward code, against ⟨∇E, v⟩: each within the error model's bound of the
    # exact derivative (the complex arithmetic also within its underflow slack), so within twice of each other
    full = float(np.imag(error(sample.network, moved, x, y)) / H)
    exact = sum(float(np.vdot(g, d)) for g, d in zip(psi_gradient(sample.network, sample.wbar, x, y), v))
    model = error_model(sample.network, sample.wbar, x, y)
    bound = model.directional_rounding([np.abs(d) for d in v], "mean")
    assert abs(full - exact) <= 2 * bound + model.underflow_terms * ETA / H


def test_negative_control_a_one_ulp_change_in_the_plan_is_caught(monkeypatch):
    sample = random_sample(Network.from_spec("4,5,3"), seed=1)
    exact = planned.vjp
    monkeypatch.setattr(planned, "vjp", lambda act, z, a, g: np.nextafter(exact(act, z, a, g), np.inf))
    assert not _identical(psi_gradient(sample.network, sample.wbar, *sample.columns()), _step_by_step(sample))


def test_a_patched_activation_rule_is_followed_as_step_by_step(monkeypatch):
    sample = random_sample(Network.from_spec("4,5,3", "tanh"), seed=1)
    before = psi_gradient(sample.network, sample.wbar, *sample.columns())  # a plan exists from here on
    rule = sample.network.activations[0].np_derivative_of_output
    monkeypatch.setattr(type(sample.network.activations[0]), "np_derivative_of_output",
                        property(lambda self: lambda a: 2 * rule(a)))
    after = psi_gradient(sample.network, sample.wbar, *sample.columns())
    assert _identical(after, _step_by_step(sample)) and not _identical(after, before)


@pytest.mark.parametrize("name", sorted(NUMERIC_MISTAKES))
def test_a_mistaken_recurrence_keeps_its_own_steps(name):
    recurrence = NUMERIC_MISTAKES[name]
    overrides = any(getattr(type(recurrence), step) is not getattr(MatrixRecurrence, step)
                    for step in ("output_psi", "weight_gradient", "propagate"))
    assert recurrence.plain_steps() is not overrides
    # a network each mistake harms: had the fast path stood in for its step, it would give the right numbers
    network = (Network.from_spec("3,4,4,2", ["tanh", "tanh", "softmax"], "softmax-ce")
               if name == "softmax-jacobian-ignored" else Network.from_spec("3,4,4,3", "tanh", "mse"))
    sample = random_sample(network, seed=2)
    assert not _identical(recurrence.gradient(network, sample.wbar, *sample.columns()), _step_by_step(sample))


def test_a_step_set_on_the_instance_is_kept_too():
    recurrence = MatrixRecurrence()
    recurrence.output_psi = lambda network, fwd, y: -(fwd.output - y)
    assert not recurrence.plain_steps() and MATRIX_PSI.plain_steps()


def test_a_returned_gradient_is_never_written_while_anything_holds_it():
    sample = random_sample(Network.from_spec("6,7,3"), seed=3)
    x, y = sample.columns()
    other = [2 * w for w in sample.wbar]
    kept = psi_gradient(sample.network, sample.wbar, x, y)
    copies = [g.copy() for g in kept]
    view = psi_gradient(sample.network, other, x, y)[0][:, 1:]
    view_copy = view.copy()
    watched = psi_gradient(sample.network, other, x, y)[1]
    watcher = weakref.ref(watched)
    watched_copy = watched.copy()
    del watched
    for _ in range(3):
        psi_gradient(sample.network, sample.wbar, x, y)
    assert _identical(kept, copies) and np.array_equal(view, view_copy)
    assert watcher() is None or np.array_equal(watcher(), watched_copy)


def test_a_gradient_nobody_holds_is_written_again_instead_of_a_fresh_one():
    sample = random_sample(Network.from_spec("6,7,3"), seed=3)
    x, y = sample.columns()
    first = psi_gradient(sample.network, sample.wbar, x, y)
    addresses = [g.__array_interface__["data"][0] for g in first]
    del first
    gc.collect()
    again = psi_gradient(sample.network, sample.wbar, x, y)
    assert [g.__array_interface__["data"][0] for g in again] == addresses
    assert _identical(again, _step_by_step(sample))


def test_where_references_are_not_counted_nothing_handed_out_is_written_again(monkeypatch):
    monkeypatch.setattr(planned, "ALONE", None)  # an interpreter without sys.getrefcount
    sample = random_sample(Network.from_spec("6,7,3"), seed=3)
    x, y = sample.columns()
    first = psi_gradient(sample.network, sample.wbar, x, y)
    addresses = [g.__array_interface__["data"][0] for g in first]
    ids = [id(g) for g in first]
    del first
    again = psi_gradient(sample.network, sample.wbar, x, y)
    assert not any(id(g) in ids and g.__array_interface__["data"][0] in addresses for g in again)
    assert _identical(again, _step_by_step(sample))


def test_plans_are_per_thread_and_agree_across_threads():
    sample = random_sample(Network.from_spec("5,9,9,4", "sigmoid"), seed=4, batch=3)
    expected, found = _step_by_step(sample), []

    def work():
        found.append(all(_identical(psi_gradient(sample.network, sample.wbar, *sample.columns()), expected)
                         for _ in range(50)))
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [True] * 4


def test_plans_kept_are_bounded_and_large_ones_are_not_kept():
    for seed in range(planned.PLANS_KEPT + 3):
        sample = random_sample(Network.from_spec("3,4,2"), seed=seed)
        psi_gradient(sample.network, sample.wbar, *sample.columns())
    assert len(planned._LOCAL.plans) <= planned.PLANS_KEPT
    big = random_sample(Network.from_spec("400,300,2"), seed=0, batch=300)
    x, y = big.columns()
    assert planned.planned(big.network, big.wbar, x).nbytes > planned.PLAN_BYTES
    assert (id(big.network), 300) not in planned._LOCAL.plans
    assert _identical(psi_gradient(big.network, big.wbar, x, y), _step_by_step(big))


def test_what_the_fast_path_does_not_take_goes_step_by_step():
    sample = random_sample(Network.from_spec("3,4,2"), seed=5)
    x, y = sample.columns()
    assert planned.planned(sample.network, [w.astype(np.float32) for w in sample.wbar], x) is None
    assert planned.planned(sample.network, sample.wbar, x.astype(np.float32)) is None
    assert planned.planned(sample.network, [w.tolist() for w in sample.wbar], x) is None
    assert planned.planned(sample.network, sample.wbar[:1], x) is None
    assert planned.planned(Network.from_spec("3,4,2", "generic"), sample.wbar, x) is None


def test_a_kernel_that_asks_for_the_same_gradient_meanwhile_does_not_share_the_buffers():
    tanh, samples, inner = Network.from_spec("3,4,2", "tanh").activations[0], [], []

    def asking(z):
        if samples:  # once, from within the first layer's forward: the same network and batch
            sample = samples.pop()
            inner.append(psi_gradient(sample.network, [2 * w for w in sample.wbar], *sample.columns()))
        return tanh.numpy(z)
    mine = type(tanh)("mine", "tanh, asking for a gradient meanwhile", numpy=asking, np_derivative=tanh.np_derivative)
    sample = random_sample(Network.from_spec("3,4,2", [mine, "tanh"]), seed=6)
    samples.append(sample)
    found = psi_gradient(sample.network, sample.wbar, *sample.columns())
    assert _identical(found, _step_by_step(sample))
    assert _identical(inner[0], _step_by_step(sample, wbar=[2 * w for w in sample.wbar]))
