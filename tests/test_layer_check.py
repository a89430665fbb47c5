"""gradproof.check_layer on the layer zoo (tests/zoo): every correct layer agrees, every planted bug is
caught at the inputs it gets wrong with the wrong entries named, the student's module is reported function
by function; and the other conventions (classes, torch Functions, plain functions), the options and the
guards."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradproof
from gradproof.cli import main
from gradproof.derive.errors import InputError

from .zoo import bugs as B, cases as C, layers as L

SEED = 7


def args_of(make_args, seed=SEED):
    return tuple(make_args(np.random.default_rng(seed)))


def check(forward, backward, args, **options):
    options.setdefault("budget", 0.5)
    if backward is None:
        return gradproof.check_loss(forward, args, **options)
    return gradproof.check_layer(forward, backward, args, **options)


@pytest.mark.parametrize("name", [n for n, c in C.CASES.items() if c.deterministic])
@pytest.mark.sampled(5)
def test_every_correct_zoo_layer_agrees(name):
    case = C.CASES[name]
    result = check(case.forward, case.backward, args_of(case.make_args))
    assert result.status == "agree", result.report()
    assert result.ok and [r.gradient for r in result.inputs] == list(case.grads)
    assert all(r.checked > 0 and r.directions for r in result.inputs)


def test_an_unseeded_dropout_is_undecidable_not_a_verdict():
    case = C.CASES["dropout_unseeded"]
    result = check(case.forward, case.backward, args_of(case.make_args))
    assert result.status == "undecidable" and "random" in result.reason


def _expected(bug):
    return sorted(bug.wrong_inputs)


@pytest.mark.parametrize("bug", [b for b in B.BUGS if b.name not in C.AT_A_KINK], ids=lambda b: b.name)
@pytest.mark.sampled(4)
def test_every_planted_bug_is_caught_at_the_right_inputs_and_entries(bug):
    case = C.CASES[bug.layer]
    result = check(bug.forward, bug.backward, args_of(C.BUG_CASES[bug.name]))
    assert result.status == "differ", result.report()
    by_case_name = dict(zip(case.grads, result.inputs))
    assert sorted(g for g, r in by_case_name.items() if r.status == "differ") == _expected(bug), result.report()
    for grad in bug.wrong_inputs:
        wrong = by_case_name[grad]
        if wrong.returned_shape == wrong.shape:   # a shape mismatch is named by the shapes instead
            assert wrong.failures, result.report()
            worst = wrong.failures[0]
            assert worst.difference > worst.tolerance and worst.verdict == "differ"
            assert [e.difference for e in wrong.failures] == sorted((e.difference for e in wrong.failures),
                                                                    reverse=True)
        else:
            assert str(wrong.shape) in wrong.note or "shape" in wrong.note
        assert wrong.gradient in result.report()


def test_ties_in_max_pooling_are_undecidable_with_the_reason():
    bug = B.BUGS_BY_NAME["max_pool_ties_to_all"]
    result = check(bug.forward, bug.backward, args_of(C.BUG_CASES[bug.name]))
    assert result.status == "undecidable"
    assert "kink" in result.reason
    # the framework convention (first maximum) at the same ties is undecidable too, never "differ"
    right = check(L.max_pool_forward, L.max_pool_backward, args_of(C.BUG_CASES[bug.name]))
    assert right.status == "undecidable"


@pytest.mark.parametrize("name, mistake", [
    ("affine_dw_transposed", "transposed"), ("affine_db_mean", "divided by N = 3"),
    ("affine_dx_not_reshaped", "reshape it"), ("conv_naive_pad_not_trimmed", "padding is not trimmed"),
    ("conv_naive_dw_stride_ignored", "ignores the stride"), ("batchnorm_missing_gamma", "factor of gamma"),
    ("batchnorm_statistics_constant", "sums to zero over axis 0"), ("dropout_mask_twice", "applied twice"),
    ("dropout_no_rescale", "rescaling forgotten"), ("softmax_loss_not_divided_by_n", "a factor of N = 5"),
    ("relu_no_chain_rule", "not multiplied by the upstream gradient"), ("sigmoid_sign", "wrong sign"),
    ("conv_naive_db_mean", "divided by N·H'·W' = 24"),
])
@pytest.mark.sampled(3)
def test_common_mistakes_are_recognised(name, mistake):
    bug = B.BUGS_BY_NAME[name]
    result = check(bug.forward, bug.backward, args_of(C.BUG_CASES[name]))
    assert mistake in result.report(), result.report()


def test_a_correct_layer_is_never_matched_to_a_mistake():
    case = C.CASES["batchnorm"]
    result = check(case.forward, case.backward, args_of(case.make_args))
    assert all(not r.mistakes for r in result.inputs)


# ----------------------------------------------------------------------------- the student's module

COURSE_EXPECTED = {"correct": "agree", "prints": "agree", "mutates_input": "agree", "pass_body": "not-implemented",
                   "returns_none": "not-implemented", "not_implemented": "not-implemented",
                   "zeros": "not-implemented", "python2": "error", "backward_raises": "error",
                   "unseeded_random": "undecidable"}
COURSE_WORDS = {"pass_body": "`pass`", "returns_none": "no return statement", "not_implemented": "NotImplementedError",
                "zeros": "all zeros", "python2": "xrange", "backward_raises": "ValueError",
                "mutates_input": "in place", "unseeded_random": "random"}


@pytest.mark.parametrize("name", list(C.COURSE))
@pytest.mark.sampled(5)
def test_the_student_module_is_reported_function_by_function(name, capsys):
    case = C.COURSE[name]
    result = check(case.forward, case.backward, args_of(case.make_args))
    assert result.status == COURSE_EXPECTED[case.status], result.report()
    if case.status in COURSE_WORDS:
        assert COURSE_WORDS[case.status] in result.report()
    assert capsys.readouterr().out == ""  # what the student's code prints never reaches stdout


# ----------------------------------------------------------------------------- other conventions

class Affine:
    """The textbook class style: parameters and their gradients as attributes."""

    def __init__(self, W, b, scale=1.0):
        self.W, self.b, self.scale = W, b, scale

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.scale * self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


def test_a_class_with_parameters_as_attributes():
    rng = np.random.default_rng(0)
    W, b, x = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((5, 4))
    good = Affine(W.copy(), b.copy())
    result = gradproof.check_layer(good, None, (x,))
    assert result.ok and [r.gradient for r in result.inputs] == ["dx", "dW", "db"]
    assert np.array_equal(good.W, W) and np.array_equal(good.b, b)  # its parameters are left as they were
    bad = Affine(W, b, scale=0.5)
    result = gradproof.check_layer(bad.forward, bad.backward, (x,))
    assert result.status == "differ" and result.wrong == ["dW"]


class Params:
    """The other textbook style: params and grads dictionaries."""

    def __init__(self, W):
        self.params, self.grads = {"W": W}, {"W": np.zeros_like(W)}

    def forward(self, x):
        self.x = x
        return np.tanh(x @ self.params["W"])

    def backward(self, dout):
        out = np.tanh(self.x @ self.params["W"])
        da = dout * (1 - out ** 2)
        self.grads["W"][...] = self.x.T @ da
        return da @ self.params["W"].T


def test_a_class_with_params_and_grads_dictionaries():
    rng = np.random.default_rng(1)
    result = gradproof.check_layer(Params(rng.standard_normal((3, 2))), None, (rng.standard_normal((4, 3)),))
    assert result.ok, result.report()
    assert [r.gradient for r in result.inputs] == ["dx", "dW"]


def test_a_torch_function():
    torch = pytest.importorskip("torch")

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return (x ** 3) @ w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return 3 * x ** 2 * (g @ w.T), (x ** 3).T @ g

    class WrongCube(Cube):
        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return x ** 2 * (g @ w.T), (x ** 3).T @ g

    rng = np.random.default_rng(2)
    args = (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))
    assert gradproof.check_layer(Cube, None, args).ok
    wrong = gradproof.check_layer(WrongCube, None, args)
    assert wrong.status == "differ" and wrong.wrong == ["dx"]


def test_a_plain_function_with_its_gradient():
    def energy(p):
        return float(np.sum(np.sin(p) * p))

    p = np.random.default_rng(3).standard_normal(6)
    assert gradproof.check_layer(energy, lambda p: np.cos(p) * p + np.sin(p), (p,)).ok
    wrong = gradproof.check_layer(energy, lambda p: np.cos(p) * p, (p,))
    assert wrong.status == "differ" and len(wrong.input("p").failures) == 6


def test_which_inputs_and_how_many_outputs_can_be_said():
    x, y = np.random.default_rng(4).standard_normal((2, 3, 4))
    only_x = gradproof.check_layer(lambda a, b: (a * b, (a, b)), lambda d, c: d * c[1], (x, y), inputs=["a"])
    assert only_x.ok and [r.name for r in only_x.inputs] == ["a"]
    # two outputs and the cache: the backward takes both upstream gradients
    two = gradproof.check_layer(lambda a: (a ** 2, 3 * a, a), lambda d1, d2, a: 2 * a * d1 + 3 * d2, (x,))
    assert two.ok
    # outputs=1: the second value belongs to the cache
    one = gradproof.check_layer(lambda a: (a ** 2, 3 * a, a), lambda d, cache: 2 * cache[1] * d, (x,), outputs=1)
    assert one.ok, one.report()


def test_a_backward_returning_too_few_gradients_says_how_to_name_the_inputs():
    x, w = np.random.default_rng(5).standard_normal((2, 3, 3))
    result = gradproof.check_layer(lambda a, b: (a @ b, (a, b)), lambda d, c: d @ c[1].T, (x, w))
    assert result.status == "error" and "inputs=" in result.reason


def test_code_that_drops_imaginary_parts_is_checked_by_central_differences():
    def forward(x):
        out = np.zeros(x.shape)
        out[...] = x ** 3
        return out, x

    x = np.random.default_rng(6).standard_normal(5)
    good = gradproof.check_layer(forward, lambda d, x: 3 * x ** 2 * d, (x,))
    assert good.ok and good.inputs[0].method == "central" and "discards imaginary parts" in good.report()
    wrong = gradproof.check_layer(forward, lambda d, x: 0 * x, (x,))  # a complex step would have said 0 too
    assert wrong.status == "not-implemented" and "all zeros" in wrong.report()


def test_a_partial_drop_of_imaginary_parts_is_caught_by_the_validation():
    def forward(x):  # np.var of a complex array is real: the variance path loses its imaginary part
        return (x - x.mean()) / np.sqrt(x.var() + 1e-5), x

    def backward(dout, x):
        n, std = x.size, np.sqrt(x.var() + 1e-5)
        xhat = (x - x.mean()) / std
        return (n * dout - dout.sum() - xhat * (dout * xhat).sum()) / (n * std)

    x = np.random.default_rng(8).standard_normal(6)
    result = gradproof.check_layer(forward, backward, (x,))
    assert result.ok and "loses imaginary parts" in result.report()


def test_relu_at_zero_is_undecidable_not_a_verdict():
    x = np.array([[-1.0, 0.0, 2.0]])
    result = gradproof.check_layer(L.relu_forward, L.relu_backward, (x,))
    assert result.status == "undecidable" and "kink" in result.reason
    assert [e.index for e in result.inputs[0].undecided] == [(0, 1)]


def test_a_hanging_forward_is_stopped_and_an_exiting_backward_reported():
    x = np.ones(3)

    def hang(x):
        while True:
            pass

    assert gradproof.check_layer(hang, lambda d, c: d, (x,), timeout=0.5).status == "error"

    def leave(d, c):
        raise SystemExit(3)

    result = gradproof.check_layer(lambda x: (2 * x, None), leave, (x,))
    assert result.status == "error" and "sys.exit" in result.reason


def test_the_result_as_a_dict():
    case = C.CASES["affine"]
    data = check(case.forward, case.backward, args_of(case.make_args)).to_dict()
    assert data["status"] == "agree" and data["ok"] and [i["gradient"] for i in data["inputs"]] == ["dx", "dw", "db"]
    assert {"delta_phi", "noise_phi", "method"} <= set(data["model"])
    bug = B.BUGS_BY_NAME["affine_db_mean"]
    data = check(bug.forward, bug.backward, args_of(C.BUG_CASES[bug.name])).to_dict()
    assert data["wrong"] == ["db"] and data["inputs"][2]["failures"][0]["verdict"] == "differ"


def test_bad_usage_is_an_input_error():
    x = np.ones(3)
    with pytest.raises(InputError, match="tuple of the forward's positional arguments"):
        gradproof.check_layer(L.relu_forward, L.relu_backward, x)
    with pytest.raises(InputError, match="unknown method"):
        gradproof.check_layer(L.relu_forward, L.relu_backward, (x,), method="forward")
    with pytest.raises(InputError, match="no differentiable input"):
        gradproof.check_layer(L.relu_forward, L.relu_backward, (np.arange(3),))
    with pytest.raises(InputError, match="no argument named 'z'"):
        gradproof.check_layer(L.relu_forward, L.relu_backward, (x,), inputs=["z"])


def test_a_single_wrong_entry_of_a_slow_layer_is_found_by_halving():
    """The loop convolution is checked along directions and a sample; one entry of dw wrong by 1e-4 is
    caught by the directions and then named by halving."""
    case = C.CASES["conv_naive_stride1"]

    def one_entry(dout, cache):
        dx, dw, db = L.conv_backward_naive(dout, cache)
        dw = dw.copy()
        dw[2, 1, 0, 1] *= 1 + 1e-4
        return dx, dw, db

    result = gradproof.check_layer(case.forward, one_entry, args_of(case.make_args), budget=0.3)
    assert result.status == "differ" and result.wrong == ["dw"]
    assert [e.index for e in result.input("dw").failures] == [(2, 1, 0, 1)]


def test_code_that_keeps_state_between_calls_is_undecidable():
    calls = [0]

    def forward(x):
        calls[0] += 1
        return x * (2.0 if calls[0] < 30 else 2.001), x

    x = np.random.default_rng(9).standard_normal((4, 5))
    result = gradproof.check_layer(forward, lambda d, x: 2 * d, (x,))
    assert result.status == "undecidable" and "closure variable calls" in result.reason

    class Counting:   # a counter on the object itself (its cache, by the convention): seen by φ's re-evaluation
        def __init__(self):
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return x * (2.0 if self.calls < 30 else 2.001), x

    result = gradproof.check_layer(Counting().forward, lambda d, x: 2 * d, (x,))
    assert result.status == "undecidable" and "keeps state" in result.reason


# --- a forward that is not a function of its input: state kept between calls ------------------------------
# Each memoises sin(x) at its first call, somewhere the check can see (a module global, a default argument, a
# closure variable, a class attribute): to finite differences it is a constant, so a zero stub "agreed".

_MEMO = {}


def _memo_global(x):
    if "out" not in _MEMO:
        _MEMO["out"] = np.sin(x)
    return _MEMO["out"].copy(), x


def _memo_default(x, _memo={}):   # noqa: B006 - the stale cache under test
    if "out" not in _memo:
        _memo["out"] = np.sin(x)
    return _memo["out"].copy(), x


def _memo_closure():
    memo = []

    def forward(x):
        if not memo:
            memo.append(np.sin(x))
        return memo[0].copy(), x
    return forward


class _Memo:
    out = None

    @classmethod
    def forward(cls, x):
        if cls.out is None:
            cls.out = np.sin(x)
        return cls.out.copy(), x


def _zero_stub(dout, x):
    return np.zeros_like(x)


@pytest.mark.parametrize("make, where", [
    (lambda: _memo_global, "_MEMO"), (lambda: _memo_default, "default arguments"),
    (_memo_closure, "closure variable memo"), (lambda: _Memo.forward, "_Memo.out")],
    ids=["global", "default", "closure", "class"])
@pytest.mark.sampled(2)
def test_a_forward_memoising_its_first_result_never_agrees(make, where):
    _MEMO.clear()
    _Memo.out = None
    x = np.random.default_rng(3).standard_normal((3, 4))
    result = gradproof.check_layer(make(), _zero_stub, (x,))
    assert result.status == "undecidable" and "state kept between calls" in result.reason and where in result.reason
    # the control: the same stub on the stateless forward is caught
    plain = gradproof.check_layer(lambda x: (np.sin(x), x), _zero_stub, (x,))
    assert plain.status == "not-implemented", plain.report()


def test_the_command_line_check_of_a_memoising_forward_is_undecidable(tmp_path, capsys):
    path = tmp_path / "memo_layer.py"
    path.write_text("import numpy as np\n_memo = {}\n\n\ndef memo_forward(x):\n    if 'out' not in _memo:\n"
                    "        _memo['out'] = np.sin(x)\n    return _memo['out'].copy(), x\n\n\n"
                    "def memo_backward(dout, cache):\n    return np.zeros_like(cache)\n")
    assert main(["check-layer", f"{path}:memo", "--arg", "x=randn:3,4"]) == 1
    out = capsys.readouterr().out
    assert "UNDECIDABLE" in out and "_memo" in out and "agree" not in out


class _GlobalAffine:
    def __init__(self, W):
        self.W = W

    def forward(self, x):
        self.x = x                 # its cache, by the convention
        return x @ self.W

    def backward(self, dout):
        self.dW = self.x.T @ dout
        return dout @ self.W.T


_LAYER = _GlobalAffine(np.random.default_rng(4).standard_normal((4, 3)))


def test_a_layer_object_held_in_a_module_global_keeps_its_cache_without_losing_its_verdict():
    """The object's own attributes are its cache (the class convention), even when a module global holds it;
    the control: a class attribute changed by the forward is still state kept between calls."""
    x = np.random.default_rng(5).standard_normal((5, 4))
    assert gradproof.check_layer(_LAYER, None, (x,)).ok
    _Memo.out = None
    assert gradproof.check_layer(_Memo.forward, _zero_stub, (x,)).status == "undecidable"


# --- precision and scale: the error model of what the user's code returns (float32, float16; 1e±300) ---
# A value returned in a binary format d (u_d = 2^-p, smallest subnormal η_d) carries at least its final rounding,
# |fl(x) − x| ≤ u_d·|x| + η_d/2; a correct backward computed in float64 and returned in d is off by exactly that.
UNIT_ROUNDOFF = {np.float32: 2.0 ** -24, np.float16: 2.0 ** -11}


def _exp_layer(dtype, factor=1.0):
    return (lambda x: (np.exp(x), x)), (lambda dout, x: (dout * np.exp(x) * factor).astype(dtype))


def _affine_layer(dtype, factor=1.0):
    def backward(dout, cache):
        x, w = cache
        return tuple((g * factor).astype(dtype) for g in (dout @ w.T, x.T @ dout, dout.sum(axis=0)))
    return (lambda x, w, b: (x @ w + b, (x, w))), backward


def _affine_args(rng):
    return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("layer, make_args", [(_exp_layer, lambda rng: (rng.standard_normal((3, 4)),)),
                                              (_affine_layer, _affine_args)])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.sampled(4)
def test_a_correct_gradient_returned_in_a_coarser_dtype_agrees_and_a_wrong_one_differs(dtype, layer, make_args, seed):
    """The class of adv19 F02 (a float32 dx called DIFFER against float64's tolerance, "1 times the
    derivative"): every entry's tolerance carries u_d·|g|; an error 64 u_d relative (1e-6 … 3e-2) still differs."""
    args = make_args(np.random.default_rng(seed))
    result = gradproof.check_layer(*layer(dtype), args, seed=seed)
    assert result.status == "agree", result.report()
    assert any(f"is {np.dtype(dtype).name}: each entry's tolerance includes its final rounding" in n
               for n in result.warnings)
    wrong = gradproof.check_layer(*layer(dtype, 1 + 64 * UNIT_ROUNDOFF[dtype]), args, seed=seed)
    assert wrong.status == "differ", wrong.report()
    for r in wrong.inputs:
        assert all(e.tolerance >= UNIT_ROUNDOFF[dtype] * abs(e.analytic) for e in r.failures)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("shape", [(1,), (3, 4)])
def test_a_forward_returning_a_coarser_dtype_is_differentiated_at_that_dtype_noise(dtype, shape):
    """Outputs rounded to d: one evaluation of ⟨dout, out⟩ carries Σ|dout|·u_d·|out| at least (derived, not
    measured: a path of relative step 2⁻³⁰ may not move a float32 output at all), and the step follows."""
    x = np.random.default_rng(3).standard_normal(shape)
    forward = lambda x: (np.sin(x).astype(dtype), x)
    # central differences resolve about u_d^(2/3) relative: 4e-5 for float32 (agree), 6e-3 for float16, at
    # the 1% resolution an agreement needs (agree or undecidable, never differ)
    allowed = ("agree",) if dtype == np.float32 else ("agree", "undecidable")
    result = gradproof.check_layer(forward, lambda dout, x: dout * np.cos(x), (x,))
    assert result.status in allowed, result.report()
    assert result.model["delta_phi"] >= UNIT_ROUNDOFF[dtype] * result.model["magnitude_phi"]
    loss = gradproof.check_loss(lambda x: (dtype(np.sum(np.sin(x))), np.cos(x)), (x,))
    assert loss.status in allowed, loss.report()
    # the control: an error far beyond that resolution (4e-3 for float32, u^(1/3); a factor 2 for float16,
    # whose step ε^(1/3)·|v| ≈ 0.1 leaves little room at 8 steps)
    factor = 1 + UNIT_ROUNDOFF[dtype] ** (1 / 3) if dtype == np.float32 else 2.0
    wrong = gradproof.check_layer(forward, lambda dout, x: dout * np.cos(x) * factor, (x,))
    assert wrong.status == "differ", wrong.report()


def test_float32_inputs_are_perturbed_in_float64():
    """A step ε^(1/3)·|v| added in float32 would land on float32's grid (a step off by ~1%)."""
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    forward = lambda x: (np.exp(x.astype(np.float64)), x)
    result = gradproof.check_layer(forward, lambda dout, x: dout * np.exp(x.astype(np.float64)), (x,))
    assert result.status == "agree", result.report()
    assert any("x is float32: converted to float64 (exactly)" in n for n in result.warnings)
    wrong = gradproof.check_layer(forward, lambda dout, x: dout * np.exp(x.astype(np.float64)) * (1 + 1e-6), (x,))
    assert wrong.status == "differ", wrong.report()


@pytest.mark.parametrize("relative", [1e-8, 3e-7, 1e-6])
def test_a_factor_of_one_is_never_named_as_a_mistake(relative):
    """A gradient off by a tiny relative error fits c·derivative with c = 1 to six digits: "1 times the
    derivative (a constant factor)" names no mistake. The control: a factor 2 is named."""
    x = (np.random.default_rng(5).standard_normal((3, 4)),)
    forward = lambda x: (np.exp(x), x)
    result = gradproof.check_layer(forward, lambda dout, x: dout * np.exp(x) * (1 + relative), x)
    assert result.status == "differ", result.report()
    assert not any(" 1 times" in m for m in result.inputs[0].mistakes), result.report()
    doubled = gradproof.check_layer(forward, lambda dout, x: 2 * dout * np.exp(x), x)
    assert any("2 times" in m for m in doubled.inputs[0].mistakes), doubled.report()


@pytest.mark.parametrize("scale", [1e-310, 1e-300, 1e-200, 1e-100, 1e100, 1e200, 1e300, 1e307])
@pytest.mark.parametrize("smooth", [False, True])
@pytest.mark.sampled(6)
def test_layers_at_extreme_scales_decide_without_numpy_warnings(scale, smooth):
    """adv19 F06: the noise estimate squared differences of values near 1e300 (inf: "only good to nan", the
    user's code blamed for losing imaginary parts). Every verdict is right, no floating-point warning comes
    from gradproof's arithmetic (the user's code here raises none), and a 2× error differs."""
    x = (np.random.default_rng(6).standard_normal((3, 4)),)
    forward = (lambda x: (np.sin(x) * scale, x)) if smooth else (lambda x: (x * scale, x))
    derivative = (lambda x: np.cos(x) * scale) if smooth else (lambda x: np.full_like(x, scale))
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        result = gradproof.check_layer(forward, lambda dout, x: dout * derivative(x), x)
        wrong = gradproof.check_layer(forward, lambda dout, x: 2 * dout * derivative(x), x)
    assert result.status == "agree", result.report()
    assert wrong.status == "differ" and any("2 times" in m for m in wrong.inputs[0].mistakes), wrong.report()


def test_subnormal_outputs_are_undecidable_not_wrong_and_the_code_is_not_blamed():
    """Outputs near 1e-320 are subnormal (a few digits): their rounding, η/2 per entry, is in the model, so a
    correct layer cannot be called wrong; the complex step's imaginary parts (1e-20 × that) underflow, which
    is gradproof's step, not the code dropping them."""
    x = (np.random.default_rng(7).standard_normal((3, 4)),)
    forward = lambda x: (x * 1e-320, x)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        result = gradproof.check_layer(forward, lambda dout, x: dout * 1e-320, x)
    assert result.status in ("agree", "undecidable"), result.report()
    assert not any("loses imaginary parts" in n for n in result.warnings), result.report()
    wrong = gradproof.check_layer(forward, lambda dout, x: dout * 4e-320, x)
    assert wrong.status == "differ", wrong.report()


def test_complex_upstream_gradients_are_refused_not_cast():
    x = (np.random.default_rng(8).standard_normal((2, 3)),)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = gradproof.check_layer(lambda x: (np.exp(x), x), lambda dout, x: dout * np.exp(x), x,
                                       douts=np.ones((2, 3)) + 1j)
    assert result.status == "error" and "douts: give real numbers" in result.reason


# --- a forward that computes in float16 (or float32) inside and returns float64 (adversarial F04) -----------
# Its values move in steps the returned dtype does not show: a noise path of relative step 2⁻³⁰ sees none, and
# finite differences at float64's step are zero or a jump. The noise is measured where φ moves (a coarser path,
# every input alone too) and outputs that are float16 numbers everywhere are held to float16's rounding.

def _inside(dtype, function, post=None):
    post = post or (lambda y: y)

    def forward(x):
        with np.errstate(over="ignore"):   # exp past float16's 65504 on the widest noise paths: inf
            return post(function(x.astype(dtype)).astype(np.float64)), x
    return forward


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("shape", [(1,), (3, 4), (5, 6)])
@pytest.mark.parametrize("function, derivative, post, slope", [
    (np.exp, np.exp, None, 1.0), (np.sin, np.cos, None, 1.0), (np.tanh, lambda x: 1 - np.tanh(x) ** 2, None, 1.0),
    (np.exp, np.exp, lambda y: 1.1 * y + 0.3, 1.1)], ids=["exp", "sin", "tanh", "exp-then-float64"])
@pytest.mark.sampled(6)
def test_a_forward_rounding_to_float16_inside_is_never_called_wrong_for_a_correct_backward(
        seed, shape, function, derivative, post, slope):
    x = np.random.default_rng(seed).standard_normal(shape) * (1 + seed / 2)   # exp(x) stays below 65504
    forward = _inside(np.float16, function, post)
    right = gradproof.check_layer(forward, lambda dout, x: slope * dout * derivative(x), (x,), seed=seed)
    assert right.status in ("agree", "undecidable"), right.report()
    assert any("~float16" in note or "held to float16" in note for note in right.warnings), right.report()
    if right.status == "undecidable":
        assert "your forward rounds to ~float16 internally" in right.reason
    wrong = gradproof.check_layer(forward, lambda dout, x: 2 * slope * dout * derivative(x), (x,), seed=seed)
    assert wrong.status in ("differ", "undecidable"), wrong.report()


def test_a_float16_tanh_saturated_to_one_is_not_called_wrong_and_a_gross_error_still_is():
    """tanh(8.16) is 1.0 in float16 for a long way (φ moves at no step): its outputs are float16 numbers, so a
    change below float16's rounding could be lost; a slope of 1 instead of 4e-7 is still caught."""
    x = np.array([8.16367649])
    forward = _inside(np.float16, np.tanh)
    right = gradproof.check_layer(forward, lambda dout, x: dout * (1 - np.tanh(x) ** 2), (x,))
    assert right.status == "undecidable" and "held to float16's rounding" in " ".join(right.warnings), right.report()
    assert gradproof.check_layer(forward, lambda dout, x: dout, (x,)).status == "differ"


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.sampled(2)
def test_an_affine_layer_multiplying_in_a_coarser_dtype_behind_a_float64_bias(seed, dtype):
    """The bias moves φ in float64 along the joint noise path; x and w alone do not move it: each input's own
    path finds the grid."""
    def forward(x, w, b):
        return (x.astype(dtype) @ w.astype(dtype)).astype(np.float64) * 1.1 + b, (x, w)

    def backward(dout, cache, factor=1.0):
        x, w = cache
        return factor * 1.1 * dout @ w.T, 1.1 * x.T @ dout, dout.sum(axis=0)

    args = _affine_args(np.random.default_rng(seed))
    right = gradproof.check_layer(forward, backward, args, seed=seed)
    assert right.status in (("undecidable",) if dtype == np.float16 else ("agree", "undecidable")), right.report()
    wrong = gradproof.check_layer(forward, lambda dout, cache: backward(dout, cache, 2.0), args, seed=seed)
    assert wrong.status == "differ" and "dx" in wrong.wrong, wrong.report()


def test_the_float16_controls_float64_code_still_differs_and_a_float16_output_keeps_its_model():
    x = np.random.default_rng(4).standard_normal((3, 4))
    forward = lambda x: (np.exp(x), x)
    wrong = gradproof.check_layer(forward, lambda dout, x: dout * np.exp(x) * (1 + 1e-6), (x,))
    assert wrong.status == "differ" and wrong.model["rounds_inside"] == "", wrong.report()
    assert wrong.model["path_step"] == 2.0 ** -30
    returned = gradproof.check_layer(lambda x: (np.sin(x).astype(np.float16), x), lambda d, x: d * np.cos(x), (x,))
    assert returned.status in ("agree", "undecidable") and returned.model["rounds_inside"] == "", returned.report()
    assert returned.model["delta_phi"] >= UNIT_ROUNDOFF[np.float16] * returned.model["magnitude_phi"]
    assert not any("rounds to" in note for note in returned.warnings)
