"""User code that runs *between* the guarded calls of one check never decides its verdict (adversarial
round 25). gradproof's own code runs there, and can run the user's: a finalizer of a cache gradproof
drops, a cycle's finalizer run by the garbage collector, a method gradproof calls on a returned object,
the iteration of a recurrence's returned list. Before, a patch made there was taken at the next call as
"made outside the user's code" (a wrong backward agreed, a wrong recurrence was proven). Now, within a
check, a change since the last call is the user's: undone and refused at the next call and at the end;
a recurrence's result is read inside the guard; the review cannot be broken off from inside; a library
shim must be a file on disk whose code it is."""

import gc
import json
import os
import sys
import sysconfig
import types

import numpy as np
import pytest
import sympy as sp

import gradproof
import gradproof.derive.proof.layer as layer_module
import gradproof.numeric.layers.check as layer_check
from gradproof.derive.model.network import Network
from gradproof.derive.proof import exact
from gradproof.derive.proof.layer import prove_layer
from gradproof.derive.proof.prove import prove
from gradproof.derive.usercode import interpreter, namespaces
from gradproof.derive.usercode.interpreter import SharedStateChanged
from gradproof.numeric.layers import entries, judge, noise
from tests.verdicts import refused_or_not_agree

X = np.random.default_rng(0).standard_normal((3, 4))
REAL_STATUS, REAL_JUDGED = layer_check.layer_status, exact._judged


def _agree(results):
    return "agree", ""


def _unguarded() -> bool:
    return not interpreter._WATCHES


class DroppedCache:
    def __init__(self, x):
        self.x = x

    def __del__(self):
        if _unguarded():
            layer_check.layer_status = _agree


class Detachable(np.ndarray):
    def detach(self):
        if _unguarded():
            layer_check.layer_status = _agree
        return self

    def numpy(self):
        return np.asarray(self)


class Cycle:
    fired = []

    def __init__(self):
        self.me = self

    def __del__(self):
        if not _unguarded():
            Cycle()   # inside a guarded call: wait for the next collection
            return
        Cycle.fired.append(True)
        layer_check.layer_status = _agree


class Format:
    def __format__(self, spec):
        raise RuntimeError("broken off")


def _forward_dropped(x):
    return x * x, DroppedCache(x)


def _backward_dropped(dout, cache):
    return 3 * cache.x * dout


def _forward_detach(x):
    return (x * x).view(Detachable), x


def _forward_cycle(x):
    if not Cycle.fired:
        Cycle()
    return x * x, x


def _forward_format(x):
    if layer_check.layer_status is REAL_STATUS:
        layer_check.layer_status = _agree
        json.dumps.__module__ = Format()
        json.dumps.__defaults__ = ()
    return x * x, x


def _forward_fake_shim(x):
    if "zz_fake_shim" not in sys.modules:
        fake = types.ModuleType("zz_fake_shim")
        fake.__file__ = os.path.join(sysconfig.get_paths()["purelib"], "zz_fake_shim.py")
        sys.modules["zz_fake_shim"] = fake
        exec("def layer_status(results):\n    return 'agree', ''", vars(fake))
        layer_check.layer_status = fake.layer_status
    return x * x, x


def _wrong_backward(dout, cache):
    return 3 * cache * dout


CASES = {"a dropped cache's finalizer": (_forward_dropped, _backward_dropped),
         "a method of a returned array": (_forward_detach, _wrong_backward),
         "a cycle's finalizer": (_forward_cycle, _wrong_backward),
         "a __format__ breaking the review off": (_forward_format, _wrong_backward),
         "a library shim made in memory": (_forward_fake_shim, _wrong_backward)}


@pytest.fixture
def restored():
    module, defaults = json.dumps.__module__, json.dumps.__defaults__
    Cycle.fired.clear()
    yield
    gc.collect()
    sys.modules.pop("zz_fake_shim", None)
    json.dumps.__module__, json.dumps.__defaults__ = module, defaults
    leaked = layer_check.layer_status is not REAL_STATUS
    layer_check.layer_status = REAL_STATUS
    assert not leaked, "a patch stayed in the process"
    assert not interpreter._WATCHES and namespaces._DEPTH == [0] and namespaces._CHECKS == [0]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.sampled(3)
def test_code_run_between_calls_never_makes_a_wrong_backward_agree(case, restored):
    forward, backward = CASES[case]
    gc_was = gc.get_threshold()
    if case == "a cycle's finalizer":
        gc.set_threshold(1)   # collections all the time: in gradproof's code between the calls too
    try:
        refused_or_not_agree(forward, backward, (X,))
    finally:
        gc.set_threshold(*gc_was)


def test_prove_layer_is_not_proven_through_a_dropped_cache(restored):
    real = layer_module.differ

    class Cache(DroppedCache):
        def __del__(self):
            if _unguarded():
                layer_module.differ = lambda *a, **k: False

    try:
        result = prove_layer(lambda x: (x * x, Cache(x)), _backward_dropped, (X[:2, :2],))
    except SharedStateChanged:
        pass
    else:
        assert result.status != "proven"
    finally:
        leaked, layer_module.differ = layer_module.differ is not real, real
    assert not leaked


class _Claimed(list):
    def __iter__(self):
        if exact._judged is REAL_JUDGED:
            def judged(*args, **kwargs):
                exact._judged = REAL_JUDGED   # put back before anyone looks
                results, ranges = REAL_JUDGED(*args, **kwargs)
                return [r.__class__(**{**vars(r), "status": "proven", "counterexample": None})
                        if hasattr(r, "__dict__") else r for r in results], ranges
            exact._judged = judged
        return list.__iter__(self)


def _missing_a_prime(sym):
    a = list(sym.output)
    psi = sp.Matrix([(ak - yk) * ak * (1 - ak) for ak, yk in zip(a, sym.y)])
    grads = [None] * sym.network.depth
    for layer in range(sym.network.depth - 1, -1, -1):
        grads[layer] = psi * sym.xbar[layer].T
        if layer:
            psi = sym.wbar[layer][:, 1:].T * psi   # a'(z) forgotten
    return _Claimed(grads)


def test_a_recurrence_whose_result_patches_as_it_is_read_is_not_proven():
    network = Network.from_spec("2,3,2", "sigmoid", "half-sse")
    try:
        proof = prove(network, recurrence=_missing_a_prime)
    except SharedStateChanged:
        pass
    else:
        assert not proof.ok
    finally:
        leaked, exact._judged = exact._judged is not REAL_JUDGED, REAL_JUDGED
    assert not leaked


def test_the_controls_changes_before_a_check_are_the_callers_and_a_plain_wrong_backward_differs():
    """A patch made by the caller before the check is taken (a test's monkeypatch); the same wrong backward
    without any of the above differs, the right one agrees."""
    saved = layer_check.layer_status
    layer_check.layer_status = lambda results: REAL_STATUS(results)   # the caller's own wrapper
    try:
        assert gradproof.check_layer(lambda x: (x * x, x), _wrong_backward, (X,)).status == "differ"
    finally:
        layer_check.layer_status = saved
    assert gradproof.check_layer(lambda x: (x * x, x), lambda d, c: 2 * c * d, (X,)).status == "agree"


class _NotAnArray:
    """Looks like a tensor (detach, numpy) without being one: read as no numbers, never called."""

    def __init__(self, values):
        self.values = values

    def detach(self):
        layer_check.layer_status = _agree
        return self

    def numpy(self):
        return self.values


def test_an_output_that_only_looks_like_a_tensor_is_an_error_not_a_traceback_and_is_never_called(restored):
    result = gradproof.check_layer(lambda x: (_NotAnArray(x * x), x), lambda d, c: 2 * c * d, (X,))
    assert result.status == "error" and "not numbers" in result.reason, result.reason


# adversarial round 26: what the between-call watch missed — hooks, and constants the verdict reads

def _trace_everything_agree(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "layer_status":
        for result in frame.f_locals["results"]:
            result.status = "agree"
    return None


class TracingCache(np.ndarray):
    def __del__(self):
        if _unguarded() and sys.gettrace() is not _trace_everything_agree:
            sys.settrace(_trace_everything_agree)


class LooseningCache(np.ndarray):
    def __del__(self):
        if _unguarded():
            noise.KAPPA, judge.RESOLUTION = 1e300, 1e300


def _loosen_private_constants():
    entries._W_CENTRAL = entries._W_ONE_SIDED = 1e200
    entries.TINY = np.float64(1e308)


ROUND_26 = {"a trace function installed by a finalizer": lambda x: (x * x, np.array(x).view(TracingCache)),
            "tolerances loosened by a finalizer": lambda x: (x * x, np.array(x).view(LooseningCache)),
            "private and numpy-scalar constants loosened in a call": lambda x: (_loosen_private_constants(),
                                                                                 (x * x, x))[1]}
CONSTANTS_26 = (noise.KAPPA, judge.RESOLUTION, entries._W_CENTRAL, entries._W_ONE_SIDED, entries.TINY)


@pytest.mark.parametrize("case", list(ROUND_26))
def test_hooks_and_the_verdicts_constants_are_kept_between_and_in_calls(case, restored):
    trace = sys.gettrace()
    try:
        refused_or_not_agree(ROUND_26[case], lambda dout, cache: 3 * np.asarray(cache) * dout, (X,))
        gc.collect()
        assert sys.gettrace() is trace, "a trace function stayed"
        assert (noise.KAPPA, judge.RESOLUTION, entries._W_CENTRAL, entries._W_ONE_SIDED, entries.TINY) \
            == CONSTANTS_26, "a constant stayed"
    finally:
        sys.settrace(trace)
        noise.KAPPA, judge.RESOLUTION, entries._W_CENTRAL, entries._W_ONE_SIDED, entries.TINY = CONSTANTS_26
