"""Adversarial round 21, F04: an agreement must come from a comparison that could have failed. dw of an affine
layer at x ~ 1e-12 is ~1e-12, below what the central difference resolves at its usual step (~1e-9) next to
dx, db ~ 1: a backward returning dw = 0 agreed (the zero gradient was judged against the layer's scale), while
a sign-flipped dw was undecidable. Now a gradient is judged against its own size only, the complex step is
trusted for an input only where its validation resolved that input, a complex-step disagreement must be
answered by the central difference, and the central difference takes wider steps where φ's rounding hides
the derivative at the usual one. The wrong gradients are confirmed wrong by torch's autograd, independently.
"""

import numpy as np
import pytest

import gradproof
from tests.bounded_runs import cli

torch = pytest.importorskip("torch")

AFFINE = """import numpy as np

def affine_forward(x, w, b):
    return x @ w + b, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, np.zeros_like(w), dout.sum(axis=0)   # forgot dw = x.T @ dout

"""
RIGHT = AFFINE.replace("np.zeros_like(w), dout.sum(axis=0)   # forgot dw = x.T @ dout", "x.T @ dout, dout.sum(axis=0)")

WRONG = {"zero": 0.0, "flipped": -1.0, "half": 0.5, "tiny": 1e-8}   # tiny: dw ~ 1e-20 where the truth is ~1e-12


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def abs_forward(x, w, b):            # abs of a complex array is real: the complex step is refused, central only
    return np.abs(x @ w + 10) + b, (x, w)


def maximum_forward(x, w, b):        # a kink where x @ w crosses 0: wide steps stop there
    return np.maximum(x @ w, 0) + b, (x, w)


def backward_for(forward, factor: float):
    def backward(dout, cache):
        x, w = cache
        if forward is affine_forward:
            slope = dout
        elif forward is abs_forward:
            slope = dout * np.sign(x @ w + 10)
        else:
            slope = dout * (x @ w > 0)
        return slope @ w.T, factor * (x.T @ slope), dout.sum(axis=0)
    return backward


def _args(scale: float):
    rng = np.random.default_rng(0)
    return scale * rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)


def _torch_dw(forward, args, dout):
    x, w, b = (torch.tensor(a, requires_grad=True) for a in args)
    out = {affine_forward: lambda: x @ w + b, abs_forward: lambda: torch.abs(x @ w + 10) + b,
           maximum_forward: lambda: torch.clamp(x @ w, min=0) + b}[forward]()
    (out * torch.tensor(dout)).sum().backward()
    return w.grad.numpy()


def _wrong_by_torch(forward, args, factor):
    """The claimed dw differs from torch's by more than a third of torch's dw (the control: it is wrong)."""
    dout = np.random.default_rng(1).standard_normal((3, 2))
    truth = _torch_dw(forward, args, dout)
    claimed = backward_for(forward, factor)(dout, forward(*args)[1])[1]
    return np.max(np.abs(claimed - truth)) > np.max(np.abs(truth)) / 3, dout


@pytest.mark.parametrize("entries", ["auto", "directions"])
@pytest.mark.parametrize("scale", [1e-12, 1e-6, 1.0])
@pytest.mark.parametrize("variant", sorted(WRONG))
@pytest.mark.sampled(2)
def test_a_wrong_dw_never_agrees_at_any_scale(scale, variant, entries):
    args = _args(scale)
    wrong, dout = _wrong_by_torch(affine_forward, args, WRONG[variant])
    assert wrong
    result = gradproof.check_layer(affine_forward, backward_for(affine_forward, WRONG[variant]), args, douts=[dout],
                                   entries=entries)
    # the layer is affine in w: wider steps resolve dw, so the central difference refutes it at every scale
    expected = "not-implemented" if variant == "zero" else "differ"
    assert result.status == expected and result.input("dw").status == expected, result.report()
    assert result.input("dx").status == result.input("db").status == "agree"


@pytest.mark.parametrize("scale", [1e-12, 1e-6, 1.0])
def test_the_right_dw_agrees_at_every_scale(scale):
    args = _args(scale)
    assert not _wrong_by_torch(affine_forward, args, 1.0)[0]
    result = gradproof.check_layer(affine_forward, backward_for(affine_forward, 1.0), args)
    assert result.status == "agree", result.report()


def test_the_adversarys_command_line(tmp_path):
    (tmp_path / "layers.py").write_text(AFFINE)
    arguments = ["--arg", "x=randn:3,4:scale=1e-12", "--arg", "w=randn:4,2", "--arg", "b=randn:2"]
    status, out, _ = cli(["check-layer", f"{tmp_path / 'layers.py'}:affine", *arguments])
    assert status == 1 and "dw is all zeros where the derivative is not" in out, out
    assert "times the usual one" in out and "no complex step for w" in out, out  # how it was decided, printed
    (tmp_path / "right.py").write_text(RIGHT)
    status, out, _ = cli(["check-layer", f"{tmp_path / 'right.py'}:affine", *arguments])
    assert status == 0 and out.startswith("affine: agree"), out


@pytest.mark.parametrize("factor", [1.0, *WRONG.values()])
@pytest.mark.sampled(2)
def test_a_gradient_below_what_any_step_resolves_is_undecidable_with_central_differences_only(factor):
    """np.abs refuses the complex step; at x ~ 1e-22, dw ~ 1e-22 is below φ's rounding even at the widest step
    (2⁻¹²·δφ ≈ 1e-17): right or wrong, dw is undecidable, never agrees, never differs."""
    result = gradproof.check_layer(abs_forward, backward_for(abs_forward, factor), _args(1e-22))
    assert result.status == "undecidable" and result.input("dw").status == "undecidable", result.report()
    assert result.input("dw").method == "central"
    assert "cannot" in result.reason and "dw" in result.reason


@pytest.mark.parametrize("factor", list(WRONG.values()))
@pytest.mark.parametrize("forward", [abs_forward, maximum_forward], ids=["abs", "maximum"])
@pytest.mark.sampled(3)
def test_a_wrong_tiny_gradient_never_agrees_with_central_differences_only(forward, factor):
    args = _args(1e-12)
    wrong, dout = _wrong_by_torch(forward, args, factor)
    assert wrong
    result = gradproof.check_layer(forward, backward_for(forward, factor), args, douts=[dout], method="central")
    assert result.input("dw").status in ("differ", "not-implemented", "undecidable"), result.report()
    assert result.status != "agree"


@pytest.mark.parametrize("forward", [abs_forward, maximum_forward], ids=["abs", "maximum"])
def test_a_right_tiny_gradient_never_differs_with_central_differences_only(forward):
    args = _args(1e-12)
    result = gradproof.check_layer(forward, backward_for(forward, 1.0), args, method="central")
    assert result.input("dw").status in ("agree", "undecidable"), result.report()
    assert result.status in ("agree", "undecidable")


def abs_by_sign_forward(x, w, b):
    """x @ |w| + b, with |w| written w·sign(w): for complex w, numpy's sign is w/|w|, so the complex step gives
    twice the derivative of |w|. At x ~ 1e-12 dw's part is far below the central bound along a random
    direction, so that validation alone cannot see it."""
    return x @ (w * np.sign(w)) + b, (x, w)


def abs_by_sign_backward(factor):
    def backward(dout, cache):
        x, w = cache
        return dout @ np.abs(w).T, factor * np.sign(w) * (x.T @ dout), dout.sum(axis=0)
    return backward


def test_a_complex_step_validated_only_for_the_large_inputs_confirms_nothing_for_a_tiny_one():
    """Its control: the backward doubling dw, which the broken complex step matched exactly, agreed before."""
    args = _args(1e-12)
    doubled = gradproof.check_layer(abs_by_sign_forward, abs_by_sign_backward(2.0), args)
    assert doubled.status == "differ" and doubled.input("dw").method == "central", doubled.report()
    right = gradproof.check_layer(abs_by_sign_forward, abs_by_sign_backward(1.0), args)
    assert right.input("dw").status in ("agree", "undecidable") and right.status != "differ", right.report()


def relu_forward(x):
    return np.maximum(x, 0), x


def zero_backward(dout, x):
    return np.zeros_like(x)


def leaky_forward(x):               # slope 1e-12 below 0: the derivative there is tiny, not zero
    return np.where(x > 0, x, 1e-12 * x), x


@pytest.mark.parametrize("method", ["auto", "central"])
def test_an_exactly_zero_gradient_agrees_where_the_comparison_is_below_floats_normal_range(method):
    """relu at negative inputs: φ is exactly 0 around x, the finite difference pins the derivative below 1e-320,
    which could have failed for any derivative float64 holds to full precision. The control: the same zeros
    where the slope is 1e-12 (a leaky relu) never agree."""
    x = (-1 - np.random.default_rng(0).random((3, 4)),)
    result = gradproof.check_layer(relu_forward, zero_backward, x, method=method)
    assert result.status == "agree", result.report()
    leaky = gradproof.check_layer(leaky_forward, zero_backward, x, method=method)
    assert leaky.status == "not-implemented" and "all zeros" in leaky.reason, leaky.report()


LOG = """import numpy as np

def logl_forward(x, w, b):
    return np.log(w) * x.sum() + b, (x, w)

def logl_backward(dout, cache):
    x, w = cache
    return np.ones_like(x) * np.sum(dout * np.log(w)), FACTOR * dout * x.sum() / w, dout
"""


@pytest.mark.parametrize("factor, status, expected", [(0, 1, "logl: NOT IMPLEMENTED"), (1, 1, "logl: UNDECIDABLE")])
def test_wider_steps_outside_the_codes_domain_print_no_warning(tmp_path, factor, status, expected):
    """dw of log(w)·Σx at x ~ 1e-12 needs wider steps, which reach w < 0 (log: NaN, numpy warns). They end
    the widening there, silently: the warnings are about points gradproof chose, not the code at the point.
    A zero dw is still refuted at the widest step short of that; the right one is not resolved there (1% of
    dw needs a step beyond log's domain): undecidable."""
    (tmp_path / "logl.py").write_text(LOG.replace("FACTOR", str(factor)))
    status_, out, err = cli(["check-layer", f"{tmp_path / 'logl.py'}:logl", "--arg", "x=randn:3:scale=1e-12",
                             "--arg", "w=positive:4", "--arg", "b=randn:4"])
    assert status_ == status and out.startswith(expected), out
    assert "warning" not in err, err


def test_an_input_too_weak_to_move_phi_is_not_taken_for_rounding_inside(tmp_path, capsys):
    """A float64 affine layer at x ~ 1e-12: w alone moves φ by ~1e-21 along the noise path, below φ's
    rounding; it moves smoothly at coarser steps, which is no sign of float16 inside (the merge of the
    float16 detector with per-input checks said it was, and left the right dw undecidable)."""
    from gradproof.cli import main
    (tmp_path / "affine64.py").write_text(
        "def affine_forward(x, w, b):\n    return x @ w + b, (x, w)\n\n"
        "def affine_backward(dout, cache):\n    x, w = cache\n    return dout @ w.T, x.T @ dout, dout.sum(axis=0)\n")
    status = main(["check-layer", f"{tmp_path / 'affine64.py'}:affine", "--arg", "x=randn:3,4:scale=1e-12",
                   "--arg", "w=randn:4,2", "--arg", "b=randn:2"])
    out = capsys.readouterr().out
    assert status == 0 and "agree" in out and "rounds to ~float16" not in out
