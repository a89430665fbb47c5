"""Found by the adversarial tester: activations and losses of your own that the README allows ended as
internal errors (exit 70) in `check`, `latex` and `prove`: a constant (c=1: lambdify returns a number, not an
array), and sign or Heaviside multiplied by their argument (sympy's derivative holds DiracDelta, which had no
numpy form, and d/dw sign(σ(z) − y) stayed an unevaluated Derivative). Each now gets a verdict; torch's
autograd confirms the gradients independently, and a planted error still differs (the negative control)."""

import subprocess
import sys

import numpy as np
import pytest

import gradproof
from gradproof.derive.symbolic.custom import define_activation, define_loss
from gradproof.numeric.checks.check import check_gradient, matrix_psi

torch = pytest.importorskip("torch")

ACTIVATIONS = {"c1": "1", "c2": "2 + 0*z", "sgnz": "sign(z)*z", "heavz": "Heaviside(z)*z", "sgnsq": "sign(z)*z**2",
               "hsoft": "Heaviside(z)*z + Heaviside(-z)*z/10"}
LOSSES = {"sgnl": "sign(a - y)*(a - y)", "sgnay": "sign(a)*a*y", "heavl": "Heaviside(a - y)*(a - y)**2"}
TORCH = {"sgnz": torch.abs, "heavz": torch.relu, "sgnsq": lambda z: torch.sign(z) * z ** 2,
         "hsoft": lambda z: torch.where(z > 0, z, z / 10), "sigmoid": torch.sigmoid}
TORCH_LOSS = {"sgnl": lambda a, y: torch.abs(a - y), "sgnay": lambda a, y: torch.abs(a) * y,
              "heavl": lambda a, y: torch.where(a > y, (a - y) ** 2, torch.zeros_like(a))}


def _torch_gradient(sample, act, loss):
    ws = [torch.tensor(w, requires_grad=True) for w in sample.wbar]
    values = torch.tensor(sample.x)
    for layer, w in enumerate(ws):
        z = w @ torch.cat([torch.ones(1, dtype=torch.float64), values])
        values = TORCH[act if layer < len(ws) - 1 or loss == "half" else "sigmoid"](z)
    y = torch.tensor(sample.y)
    error = 0.5 * ((values - y) ** 2).sum() if loss == "half" else TORCH_LOSS[loss](values, y).sum()
    error.backward()
    return [w.grad.numpy() for w in ws]


def _net(act, loss):
    activation = define_activation(act, ACTIVATIONS[act]) if act in ACTIVATIONS else act
    if loss == "half":
        return gradproof.Network.from_spec("2,3,2", activation=activation)
    return gradproof.Network.from_spec("2,3,2", activation=[activation, "sigmoid"], loss=define_loss(loss, LOSSES[loss]))


@pytest.mark.parametrize("act, loss", [(a, "half") for a in ACTIVATIONS] + [("sigmoid", l) for l in LOSSES]
                         + [("sgnz", "sgnl")])
@pytest.mark.sampled(4)
def test_every_allowed_definition_gets_a_verdict(act, loss):
    network = _net(act, loss)
    sample = gradproof.random_sample(network, seed=0)
    result = check_gradient(sample)
    assert result.verdict in ("agree", "cannot decide"), result.report()
    if act in TORCH or act == "sigmoid":
        truth = _torch_gradient(sample, act, loss)
        psi = matrix_psi(network)(sample.wbar, *sample.columns(), "mean")
        for mine, theirs in zip(psi, truth):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("act, loss", [("sgnz", "half"), ("sigmoid", "sgnl"), ("sigmoid", "heavl")])
def test_a_planted_sign_error_still_differs(act, loss):
    network = _net(act, loss)
    sample = gradproof.random_sample(network, seed=0)
    psi = matrix_psi(network)

    def wrong(wbar, x, y, reduction):
        grads = [g.copy() for g in psi(wbar, x, y, reduction)]
        grads[0] = -grads[0]
        return grads
    assert check_gradient(sample, wrong).verdict == "differ"


@pytest.mark.parametrize("verb, define, option", [
    ("check", "c=1", "--activation"), ("check", "f=sign(z)*z", "--activation"),
    ("check", "f=Heaviside(z)*z", "--activation"), ("check", "l=sign(a-y)*(a-y)", "--loss"),
    ("prove", "l=sign(a-y)*(a-y)", "--loss"), ("latex", "f=sign(z)*z", "--activation")])
@pytest.mark.sampled(1)
def test_the_command_line_gives_a_verdict_not_an_internal_error(tmp_path, verb, define, option):
    name = define.split("=")[0]
    extra = ["-o", str(tmp_path / "d.tex")] if verb == "latex" else []
    run = subprocess.run([sys.executable, "-m", "gradproof", verb, "--layers", "2,3,2", "--define", define, option,
                          name, *extra], capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    assert "internal error" not in run.stderr


@pytest.mark.parametrize("arguments, status, message", [
    (["--define", "l=3", "--loss", "l"], 1, "cannot decide"),        # a constant loss: every gradient 0
    (["--loss", "l=3"], 1, "cannot decide"),
    (["--define", "l=z**2", "--loss", "l"], 2, "unknown name z"),
    (["--define", "l=(a - y)**2", "--loss", "l"], 0, "passed")])
@pytest.mark.sampled(1)
def test_a_definition_named_by_loss_is_a_loss(arguments, status, message):
    """A constant has neither z nor a, y: it was defined as an activation, and --loss then printed the
    activation object's repr as an 'unknown loss'."""
    run = subprocess.run([sys.executable, "-m", "gradproof", "check", "--layers", "2,3,2", *arguments],
                         capture_output=True, text=True)
    assert run.returncode == status, run.stderr
    assert message in run.stdout + run.stderr and "Elementwise(" not in run.stderr
