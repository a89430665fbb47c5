"""Found by the adversarial tester: a backward pass that keeps state between calls was checked on its first
call only (one sample: one call), so the classic "forgot to zero the gradient buffer" passed, and errors
that cancel over a batch's mean (+δ on one call, −δ on the next) passed at any even batch. Every call is now
made twice on the same arguments and must give the same arrays. torch's autograd is the independent oracle
that the stateful functions return wrong gradients on later calls."""

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradproof
from gradproof import BackwardPassError

torch = pytest.importorskip("torch")

HERE = Path(__file__).parent
NETWORK = "2,3,3,2"


def correct(wbar, x, y):
    """The Ψ recurrence for sigmoid layers and half-sse, written out."""
    xbars, zs, values = [], [], np.asarray(x, dtype=float)
    for w in wbar:
        xbars.append(np.concatenate([[1.0], values]))
        zs.append(w @ xbars[-1])
        values = 1 / (1 + np.exp(-zs[-1]))
    psi = (values - y) * values * (1 - values)
    grads = [None] * len(wbar)
    for layer in range(len(wbar) - 1, -1, -1):
        grads[layer] = np.outer(psi, xbars[layer])
        if layer:
            s = 1 / (1 + np.exp(-zs[layer - 1]))
            psi = (wbar[layer][:, 1:].T @ psi) * s * (1 - s)
    return grads


def accumulating():
    buffer = []

    def backward(wbar, x, y):             # the gradient buffer is added to and never reset
        if not buffer:
            buffer.extend(np.zeros_like(w) for w in wbar)
        for b, g in zip(buffer, correct(wbar, x, y)):
            b += g
        return buffer
    return backward


def alternating():
    calls = [0]

    def backward(wbar, x, y):             # wrong on every call, by +δ then −δ: the batch's mean is right
        calls[0] += 1
        grads = correct(wbar, x, y)
        grads[0] = grads[0] + (0.5 if calls[0] % 2 else -0.5)
        return grads
    return backward


def counting():
    calls = [0]

    def backward(wbar, x, y):             # right on the first call only
        calls[0] += 1
        grads = correct(wbar, x, y)
        return grads if calls[0] == 1 else [2 * g for g in grads]
    return backward


def torch_gradient(wbar, x, y):
    ws = [torch.tensor(w, requires_grad=True) for w in wbar]
    values = torch.tensor(x)
    for w in ws:
        values = torch.sigmoid(w @ torch.cat([torch.ones(1, dtype=torch.float64), values]))
    (0.5 * ((values - torch.tensor(y)) ** 2).sum()).backward()
    return [w.grad.numpy() for w in ws]


STATEFUL = {"accumulating": accumulating, "alternating": alternating, "counting": counting}


@pytest.mark.parametrize("make", sorted(STATEFUL))
def test_the_stateful_backward_passes_are_wrong_on_some_call(make):
    network = gradproof.Network.from_spec(NETWORK)
    sample = gradproof.random_sample(network, seed=0)
    truth = torch_gradient(sample.wbar, sample.x, sample.y)
    backward = STATEFUL[make]()
    calls = [[np.array(g) for g in backward([w.copy() for w in sample.wbar], sample.x, sample.y)] for _ in range(3)]
    assert any(not np.allclose(g, t, rtol=1e-12, atol=0) for call in calls for g, t in zip(call, truth))


@pytest.mark.parametrize("batch", [None, 2, 3, 4])
@pytest.mark.parametrize("make", sorted(STATEFUL))
def test_a_backward_pass_that_keeps_state_is_refused(make, batch):
    network = gradproof.Network.from_spec(NETWORK)
    with pytest.raises(BackwardPassError, match="called again with the same wbar, x and y"):
        gradproof.check_backward(STATEFUL[make](), network, seed=0, batch=batch)


@pytest.mark.parametrize("tier", ["full", "direction"])
@pytest.mark.parametrize("batch", [None, 3])
def test_a_function_of_its_arguments_still_agrees(batch, tier):
    """The negative control: the same recurrence without state."""
    network = gradproof.Network.from_spec(NETWORK)
    result = gradproof.check_backward(correct, network, seed=0, batch=batch, tier=tier)
    assert result.verdict == "agree", result.report()


MODULE = '''
import numpy as np
buffer = []
def correct(wbar, x, y):
{correct}
def accumulating(wbar, x, y):
    if not buffer:
        buffer.extend(np.zeros_like(w) for w in wbar)
    for b, g in zip(buffer, correct(wbar, x, y)):
        b += g
    return buffer
'''


@pytest.mark.parametrize("name, status", [("accumulating", 2), ("correct", 0)])
def test_the_command_line_refuses_it_too(tmp_path, name, status):
    body = inspect.getsource(correct).split('"""', 2)[2]
    (tmp_path / "grads.py").write_text(MODULE.format(correct=body))
    run = subprocess.run([sys.executable, "-m", "gradproof", "check", "--layers", NETWORK, "--json", "--backward",
                          f"{tmp_path / 'grads.py'}:{name}"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == status, run.stderr
    if status:
        assert "called again with the same wbar" in run.stdout


def batched_summed(wbar, x, y):           # the batch's gradient as a sum where the mean is asked for
    return [sum(parts) for parts in zip(*(correct(wbar, xb, yb) for xb, yb in zip(x, y)))]


def batched_first(wbar, x, y):            # the first sample's gradient for the whole batch
    return correct(wbar, x[0], y[0])


def batched_mean(wbar, x, y):
    return [g / len(x) for g in batched_summed(wbar, x, y)]


@pytest.mark.parametrize("batch", [None, 1])
@pytest.mark.parametrize("wrong", [batched_summed, batched_first])
def test_a_batched_backward_on_one_sample_is_refused(wrong, batch):
    """On one sample the wrong reductions give the right numbers (torch: the mean's gradient of a batch of
    one is its sample's), so a check there could not have failed."""
    network = gradproof.Network.from_spec(NETWORK)
    sample = gradproof.random_sample(network, seed=0, batch=1)
    truth = torch_gradient(sample.wbar, sample.x[0], sample.y[0])
    for mine, theirs in zip(wrong(sample.wbar, sample.x, sample.y), truth):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    with pytest.raises(gradproof.InputError, match="--batched needs a batch of at least 2"):
        gradproof.check_backward(wrong, network, seed=0, batch=batch, batched=True)


@pytest.mark.parametrize("backward, verdict", [(batched_summed, "differ"), (batched_first, "differ"),
                                               (batched_mean, "agree")])
def test_a_batched_backward_on_two_samples_is_decided(backward, verdict):
    network = gradproof.Network.from_spec(NETWORK)
    assert gradproof.check_backward(backward, network, seed=0, batch=2, batched=True).verdict == verdict


def test_the_command_line_refuses_batched_on_one_sample():
    run = subprocess.run([sys.executable, "-m", "gradproof", "check", "--batched", "--backward",
                          f"{HERE.parent / 'examples' / 'my_grad.py'}:backward"], capture_output=True, text=True)
    assert run.returncode == 2 and "--batched needs a batch of at least 2" in run.stderr


def test_check_gradient_with_a_gradient_of_your_own_that_keeps_state():
    """check_gradient(sample, gradient) called a gradient of one's own once: an accumulating one agreed on its
    first check and differed on its second."""
    network = gradproof.Network.from_spec(NETWORK)
    sample = gradproof.random_sample(network, seed=0, batch=2)
    psi, buffer = gradproof.numeric.checks.check.matrix_psi(network), []

    def accumulating_gradient(wbar, x, y, reduction):
        grads = psi(wbar, x, y, reduction)
        if not buffer:
            buffer.extend(np.zeros_like(g) for g in grads)
        for b, g in zip(buffer, grads):
            b += g
        return buffer
    with pytest.raises(gradproof.InputError, match="the gradient under test returned another"):
        gradproof.check_gradient(sample, accumulating_gradient)
    assert gradproof.check_gradient(sample, psi).verdict == "agree"   # the control: no state
