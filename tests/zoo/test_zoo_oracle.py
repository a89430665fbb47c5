"""The zoo's oracle, independent of gradproof: every correct layer's backward agrees with torch autograd
(where torch can express the forward; torch is optional) and with central finite differences in float64;
every bug's declared-wrong gradients differ from that reference and its other gradients agree.

Tolerances, on the relative error max|a - b| / max|b| of a whole gradient:
* torch: both sides evaluate float64 expressions of the same function in different orders, so they
  differ by rounding only (observed <= 1e-15). TORCH_RTOL = 1e-9.
* central differences with h = 1e-6: truncation h^2 / 6 |f'''| ~ 1e-13, rounding ~ eps |f| / h
  ~ 2e-10 |f| with |f| = O(1..10): ~1e-9 relative, as observed (<= 3e-9). FD_RTOL = 1e-6.
* a bug's gradient is wrong when its shape differs or its relative error exceeds BUG_MIN = 1e-3, three
  orders above FD_RTOL; the smallest in the zoo is 2.9e-2 (lstm_step_tanh_prime_on_c), most are > 0.1.
"""

import copy

import numpy as np
import pytest

from . import bugs as B, cases as C, course_layers as S, layers as L

SEED = 20240611
H = 1e-6
FD_RTOL, TORCH_RTOL, BUG_MIN = 1e-6, 1e-9, 1e-3
STEADY = [name for name, case in C.CASES.items() if case.deterministic]
#: layers torch has no deterministic forward for (its dropout draws its own mask): finite differences only
NO_TORCH_FORWARD = {"dropout"}


# ----------------------------------------------------------------------------- helpers

def as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def rel_error(a, b):
    """max|a - b| / max|b|; infinite for a shape mismatch or a non-array."""
    if not isinstance(a, np.ndarray) or a.shape != np.shape(b):
        return np.inf
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def args_for(make_args, seed=SEED):
    return make_args(np.random.default_rng(seed))


def upstream(forward, args, seed=SEED + 1):
    """Random upstream gradients shaped like the outputs (None for a loss)."""
    res = forward(*copy.deepcopy(args))
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(out)) for out in res[:-1]]


def analytic(forward, backward, args, douts):
    """The gradients a pair (or a loss) returns, as a tuple."""
    res = forward(*copy.deepcopy(args))
    return as_tuple(res[1] if backward is None else backward(*douts, res[-1]))


def scalar(forward, args, douts, is_loss):
    """The function finite differences differentiate: the loss, or sum(dout * out) over the outputs."""
    res = forward(*copy.deepcopy(args))
    return res[0] if is_loss else sum(np.sum(d * out) for d, out in zip(douts, res[:-1]))


def finite_differences(forward, args, differentiable, douts, is_loss):
    args, grads = copy.deepcopy(args), []
    for position in differentiable:
        x = args[position]
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            keep = x[index]
            x[index] = keep + H
            plus = scalar(forward, args, douts, is_loss)
            x[index] = keep - H
            minus = scalar(forward, args, douts, is_loss)
            x[index] = keep
            grad[index] = (plus - minus) / (2 * H)
        grads.append(grad)
    return tuple(grads)


# ----------------------------------------------------------------------------- torch references

@pytest.fixture(scope="module")
def torch_ref():
    """torch_ref(layer, args, differentiable, douts) -> (outputs, gradients); None: no torch forward."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from .torch_reference import FORWARDS as forwards

    def run(layer, args, differentiable, douts):
        if layer not in forwards:
            return None
        args = [torch.tensor(a, requires_grad=True) if i in differentiable else a
                for i, a in enumerate(copy.deepcopy(args))]
        outs = forwards[layer](*args)
        total = outs[0] if douts is None else sum((torch.from_numpy(d) * o).sum() for d, o in zip(douts, outs))
        grads = torch.autograd.grad(total, [args[i] for i in differentiable])
        return [o.detach().numpy() for o in outs], tuple(g.numpy() for g in grads)

    return run


# ----------------------------------------------------------------------------- the tables

def test_tables_are_consistent():
    assert set(C.LAYERS) == {case.layer for case in C.CASES.values()} and all(layer in C.CASES for layer in C.LAYERS)
    assert len({bug.name for bug in B.BUGS}) == len(B.BUGS) == len(C.BUG_CASES)
    for layer in C.LAYERS:
        assert sum(bug.layer == layer for bug in B.BUGS) >= 2, layer
    for bug in B.BUGS:
        case = C.CASES[bug.layer]
        assert bug.wrong_inputs and set(bug.wrong_inputs) <= set(case.grads), bug.name
        assert (bug.backward is None) == (case.backward is None), bug.name
    for case in C.CASES.values():
        assert len(case.differentiable) == len(case.grads)


@pytest.mark.parametrize("name", STEADY)
def test_backward_follows_the_return_convention(name):
    case = C.CASES[name]
    args = args_for(case.make_args)
    res = case.forward(*copy.deepcopy(args))
    grads = res[1] if case.backward is None else case.backward(*upstream(case.forward, args), res[-1])
    if len(case.differentiable) == 1:
        assert isinstance(grads, np.ndarray)
    else:
        assert isinstance(grads, tuple) and len(grads) == len(case.differentiable)
    for position, grad in zip(case.differentiable, as_tuple(grads)):
        assert grad.shape == args[position].shape and grad.dtype == np.float64


@pytest.mark.parametrize("name", STEADY)
def test_layer_leaves_its_array_arguments_alone(name):
    case = C.CASES[name]
    args = args_for(case.make_args)
    before, douts = copy.deepcopy(args), upstream(case.forward, args)
    res = case.forward(*args)
    if case.backward is not None:
        case.backward(*douts, res[-1])
    for old, new in zip(before, args):
        if isinstance(old, np.ndarray):
            assert np.array_equal(old, new)


# ----------------------------------------------------------------------------- correct layers

@pytest.mark.parametrize("name", STEADY)
def test_layer_matches_finite_differences(name):
    case = C.CASES[name]
    args = args_for(case.make_args)
    douts = None if case.backward is None else upstream(case.forward, args)
    ours = analytic(case.forward, case.backward, args, douts)
    reference = finite_differences(case.forward, args, case.differentiable, douts, case.backward is None)
    for grad_name, a, b in zip(case.grads, ours, reference):
        assert rel_error(a, b) <= FD_RTOL, (grad_name, rel_error(a, b))


@pytest.mark.parametrize("name", [name for name in STEADY if C.CASES[name].layer not in NO_TORCH_FORWARD])
def test_layer_matches_torch_autograd(name, torch_ref):
    case = C.CASES[name]
    args = args_for(case.make_args)
    douts = None if case.backward is None else upstream(case.forward, args)
    reference = torch_ref(case.layer, args, case.differentiable, douts)
    if reference is None:
        pytest.skip(f"no torch forward for {case.layer} (checked by finite differences)")
    outs = case.forward(*copy.deepcopy(args))[:-1]
    for out, expected in zip(outs, reference[0]):
        assert rel_error(np.asarray(out, dtype=float), expected) <= TORCH_RTOL
    for grad_name, a, b in zip(case.grads, analytic(case.forward, case.backward, args, douts), reference[1]):
        assert rel_error(a, b) <= TORCH_RTOL, (grad_name, rel_error(a, b))


def test_max_pool_sends_a_tie_to_the_first_maximum_like_torch(torch_ref):
    args = args_for(C.max_pool_ties_args)
    douts = upstream(L.max_pool_forward, args)
    (dx,) = analytic(L.max_pool_forward, L.max_pool_backward, args, douts)
    assert rel_error(dx, torch_ref("max_pool", args, (0,), douts)[1][0]) <= TORCH_RTOL


def test_seeded_dropout_repeats_and_unseeded_dropout_does_not():
    x = np.random.default_rng(SEED).standard_normal((6, 7))
    seeded = {"p": 0.5, "mode": "train", "seed": 3}
    assert np.array_equal(L.dropout_forward(x, seeded)[0], L.dropout_forward(x, seeded)[0])
    unseeded = {"p": 0.5, "mode": "train"}
    assert not np.array_equal(L.dropout_forward(x, unseeded)[0], L.dropout_forward(x, unseeded)[0])


def test_unseeded_dropout_backward_matches_its_own_mask():
    x, param = args_for(C.dropout_unseeded_args)
    out, mask = L.dropout_forward(x, param)
    dout = np.random.default_rng(SEED).standard_normal(x.shape)
    assert np.allclose(L.dropout_backward(dout, mask), dout * out / x, rtol=1e-12)


def test_the_unflipped_kernel_bug_is_exactly_the_missing_flip():
    x, w, b, conv_param = args_for(C.conv_stride1_args)
    out, cache = L.conv_forward_naive(x, w, b, conv_param)
    dout = np.random.default_rng(SEED).standard_normal(out.shape)
    flipped = B.conv_dx_as_full_convolution(dout, w, x.shape, conv_param["pad"], flip=True)
    assert rel_error(flipped, L.conv_backward_naive(dout, cache)[0]) <= 1e-12


# ----------------------------------------------------------------------------- bugs

def bug_reference(bug, args, douts, torch_ref):
    """Torch autograd of the layer when it can be written in torch, else finite differences; tolerance."""
    case = C.CASES[bug.layer]
    reference = torch_ref(bug.layer, args, case.differentiable, douts) if torch_ref else None
    if reference is not None:
        return reference[1], TORCH_RTOL
    if bug.name in C.AT_A_KINK:
        pytest.skip("a non-differentiable point: the reference is torch's convention")
    return finite_differences(case.forward, args, case.differentiable, douts, case.backward is None), FD_RTOL


@pytest.fixture(scope="module")
def maybe_torch_ref(request):
    try:
        return request.getfixturevalue("torch_ref")
    except pytest.skip.Exception:
        return None


@pytest.mark.parametrize("bug", B.BUGS, ids=[bug.name for bug in B.BUGS])
def test_bug_keeps_the_correct_forward(bug):
    case = C.CASES[bug.layer]
    args = args_for(C.BUG_CASES[bug.name])
    ours, theirs = bug.forward(*copy.deepcopy(args)), case.forward(*copy.deepcopy(args))
    for a, b in zip(ours[:-1], theirs[:-1]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("bug", B.BUGS, ids=[bug.name for bug in B.BUGS])
def test_bug_is_wrong_exactly_where_declared(bug, maybe_torch_ref):
    case = C.CASES[bug.layer]
    args = args_for(C.BUG_CASES[bug.name])
    douts = None if case.backward is None else upstream(case.forward, args)
    reference, tolerance = bug_reference(bug, args, douts, maybe_torch_ref)
    ours = analytic(bug.forward, bug.backward, args, douts)
    assert len(ours) == len(case.grads)
    for grad_name, a, b in zip(case.grads, ours, reference):
        error = rel_error(a, b)
        if grad_name in bug.wrong_inputs:
            assert error > BUG_MIN, (grad_name, error)
        else:
            assert error <= tolerance, (grad_name, error)


# ----------------------------------------------------------------------------- the student's module

def course_gradients(entry, args):
    douts = None if entry.backward is None else upstream(entry.forward, args)
    return analytic(entry.forward, entry.backward, args, douts), douts


def check_right(entry, args):
    """The student's gradient agrees with finite differences (on copies of the arguments)."""
    ours, douts = course_gradients(entry, args)
    reference = finite_differences(entry.forward, args, entry.differentiable, douts, entry.backward is None)
    for a, b in zip(ours, reference):
        assert rel_error(a, b) <= FD_RTOL


def check_status(name, entry, args, capsys):
    status = entry.status
    if status in ("correct", "prints"):
        check_right(entry, args)
        assert bool(capsys.readouterr().out) == (status == "prints")
    elif status in ("pass_body", "returns_none"):
        res = entry.forward(*args)
        assert entry.backward(*upstream(entry.forward, args), res[-1]) is None
    elif status in ("not_implemented", "backward_raises"):
        res = entry.forward(*args)
        with pytest.raises(NotImplementedError if status == "not_implemented" else ValueError):
            entry.backward(*upstream(entry.forward, args), res[-1])
    elif status == "zeros":
        (dx,), _ = course_gradients(entry, args)
        assert not dx.any() and args[0].size
    elif status == "python2":
        with pytest.raises(NameError, match="xrange"):
            entry.forward(*args)
    elif status == "mutates_input":
        before = args[0].copy()
        entry.forward(*args)
        assert not np.array_equal(before, args[0])
        check_right(entry, [before] + args[1:])
    elif status == "unseeded_random":
        assert not np.array_equal(entry.forward(*args)[0], entry.forward(*args)[0])
        dout = np.ones_like(args[0])
        assert np.array_equal(entry.backward(dout, entry.forward(*args)[-1]), dout)
    else:
        raise AssertionError(f"unknown status {status!r} for {name}")


@pytest.mark.parametrize("name", list(C.COURSE))
def test_course_module_behaves_as_listed(name, capsys):
    entry = C.COURSE[name]
    assert entry.status in C.COURSE_STATUSES
    check_status(name, entry, args_for(entry.make_args), capsys)


@pytest.mark.parametrize("name", [n for n, e in C.COURSE.items() if e.reference and e.status == "correct"])
def test_course_correct_pairs_compute_the_zoo_layers(name):
    entry, case = C.COURSE[name], C.CASES[C.COURSE[name].reference]
    args = args_for(entry.make_args)
    for a, b in zip(entry.forward(*copy.deepcopy(args))[:-1], case.forward(*copy.deepcopy(args))[:-1]):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)


def test_course_module_defines_the_listed_functions():
    names = {f.__name__ for entry in C.COURSE.values() for f in (entry.forward, entry.backward) if f}
    assert names <= set(dir(S))
