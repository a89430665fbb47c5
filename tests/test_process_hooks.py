"""User code that leaves an interpreter-wide hook or setting behind never decides a verdict.

A trace or profile function (sys and threading), a gc callback, an audit hook or a change of sympy's global
parameters, left by a backward, a forward or a recurrence: in every in-process entry point (guard.call,
check_backward, check_layer, prove_layer, the recurrence of `prove`, and the verbs that run them) it is
undone and refused (SharedStateChanged, exit 2), never a verdict. The controls: the same wrong code without
the hook is refuted / differs, and a right layer that only changes the warnings filters, numpy's traps or the
recursion limit agrees, with those settings put back."""

import gc
import json
import sys
import threading
import warnings

import numpy as np
import pytest
from sympy.core.parameters import global_parameters

import gradproof
from gradproof.cli import main
from gradproof.derive.model.network import Network
from gradproof.derive.proof.layer import prove_layer
from gradproof.derive.usercode import guard
from gradproof.derive.usercode.interpreter import SharedStateChanged
from gradproof.numeric.checks.backward import check_backward
from gradproof.numeric.compiled.matrix import psi_gradient
from tests import user_hooks as U

NAMES = sorted(U.HOOKS)
X = np.array([[0.5, -1.25], [2.0, 0.75]])


def _state():
    return (sys.gettrace(), sys.getprofile(), threading.gettrace(), threading.getprofile(), tuple(gc.callbacks),
            dict(vars(global_parameters)))


@pytest.fixture
def hook():
    before = _state()
    yield
    U.CHOICE["hook"] = None
    assert _state() == before, "the guard left a hook or a sympy parameter changed"
    assert not U.AUDITED, "the user's audit hook was let in"


@pytest.mark.parametrize("name", NAMES)
def test_a_guarded_call_that_leaves_a_hook_is_refused_and_undone(name, hook):
    install, words = U.HOOKS[name]
    with pytest.raises(SharedStateChanged, match=words.replace(".", r"\.").replace("(", r"\(")) as caught:
        guard.call(install, what="your code")
    assert str(caught.value).startswith("your code ") and "restored" in str(caught.value)
    compile("1", "<audited>", "eval")   # raises an audit event: the user's hook, if let in, records it
    assert guard.call(lambda: 7).value == 7       # and the next call is not refused


@pytest.mark.parametrize("name", NAMES)
def test_check_layer_and_prove_layer_refuse_a_hook_left_by_the_backward(name, hook):
    U.CHOICE["hook"] = name
    with pytest.raises(SharedStateChanged, match="sq_backward"):
        gradproof.check_layer(U.sq_forward, U.sq_backward, (X,))
    with pytest.raises(SharedStateChanged, match="sq_backward"):
        prove_layer(U.sq_forward, U.sq_backward, (X,))


def test_without_the_hook_the_same_wrong_layer_differs_and_is_refuted(hook):
    assert gradproof.check_layer(U.sq_forward, U.sq_backward, (X,)).status == "differ"
    assert prove_layer(U.sq_forward, U.sq_backward, (X,)).status == "refuted"


def test_a_hook_installed_mid_sweep_is_undone_before_gradproof_goes_on(hook):
    """The forward installs the hook on its 60th call, inside a sweep of finite differences (gradproof's
    own code runs between the user's calls): refused, not a verdict."""
    calls = [0]

    def forward(x):
        calls[0] += 1
        if calls[0] == 60:
            threading.settrace(U.flip)
        return x ** 2, x

    with pytest.raises(SharedStateChanged, match="threading.settrace"):
        gradproof.check_layer(forward, lambda dout, x: 3 * dout * x, (X,))


NETWORK = Network.from_spec("2,3,2")


def _doubled(wbar, x, y):
    return [2 * g for g in psi_gradient(NETWORK, wbar, x[:, None], y[:, None])]


@pytest.mark.parametrize("name", ["settrace", "threading.settrace", "gc.callbacks", "sympy evaluate"])
def test_check_backward_in_process_refuses_a_hook(name, hook):
    def backward(wbar, x, y):
        U.HOOKS[name][0]()
        return _doubled(wbar, x, y)

    with pytest.raises(SharedStateChanged, match="your backward pass"):
        check_backward(backward, NETWORK)
    assert check_backward(_doubled, NETWORK).verdict == "differ"   # the control


def test_settings_a_backward_changes_are_put_back_and_do_not_move_the_verdict():
    filters, err, limit = list(warnings.filters), np.geterr(), sys.getrecursionlimit()
    result = gradproof.check_layer(U.quiet_forward, U.quiet_backward, (X,))
    assert result.status == "agree", result.report()
    assert warnings.filters == filters and np.geterr() == err and sys.getrecursionlimit() == limit

    def backward(wbar, x, y):
        warnings.simplefilter("error")
        np.seterr(all="raise")
        return psi_gradient(NETWORK, wbar, x[:, None], y[:, None])

    assert check_backward(backward, NETWORK).verdict == "agree"
    assert warnings.filters == filters and np.geterr() == err


def _layer_file(tmp_path, name: str):
    path = tmp_path / "hooked.py"
    path.write_text("from tests.user_hooks import HOOKS, sq_forward\n\n\ndef sq_backward(dout, cache):\n"
                    f"    HOOKS[{name!r}][0]()\n    return 3 * dout * cache\n")
    return path


def _recurrence_file(tmp_path, name: str | None):
    path = tmp_path / "recurrence.py"
    install = f"    HOOKS[{name!r}][0]()\n" if name else ""
    path.write_text("import sympy as sp\nfrom tests.user_hooks import HOOKS\n\n\ndef recurrence(sym):\n"
                    "    E = sum((a - y) ** 2 for a, y in zip(sym.output, sym.y)) / 2\n"
                    "    grads = [sp.Matrix(W.shape[0], W.shape[1], lambda i, j: 2 * sp.diff(E, W[i, j])) "
                    f"for W in sym.wbar]\n{install}    return grads\n")
    return path


@pytest.mark.parametrize("name", ["settrace", "setprofile", "threading.setprofile", "gc.callbacks",
                                  "sympy evaluate", "sympy exp_is_pow"])
def test_the_command_line_refuses_a_hook_in_every_in_process_verb(name, tmp_path, capsys, hook):
    layer = _layer_file(tmp_path, name)
    (tmp_path / "spec.json").write_text(json.dumps({"sq": {"x": "randn:2,2"}}))
    for argv in (["check-layer", f"{layer}:sq", "--arg", "x=randn:2,2"],
                 ["prove-layer", f"{layer}:sq", "--arg", "x=randn:2,2"],
                 ["check-layers", str(layer), "--spec", str(tmp_path / "spec.json"), "--prove"],
                 ["prove", "--layers", "2,1", "--recurrence", f"{_recurrence_file(tmp_path, name)}:recurrence"]):
        status = main(["--json", *argv])
        out = json.loads(capsys.readouterr().out)
        assert status == 2 and out["ok"] is False and U.HOOKS[name][1] in out["error"], (argv, out)


def test_the_command_line_control_without_a_hook_is_refuted(tmp_path, capsys):
    status = main(["prove", "--layers", "2,1", "--recurrence", f"{_recurrence_file(tmp_path, None)}:recurrence"])
    assert status == 1 and "refuted" in capsys.readouterr().out
