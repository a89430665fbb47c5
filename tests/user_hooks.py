"""User code that leaves interpreter-wide hooks or settings behind (tests/test_process_hooks.py): each
``install_<name>`` is what a backward, a forward or a recurrence might do before returning. The hooks are
the verdict-flipping kind an adversary wrote: they rewrite a local "status"/"verdict" of whatever function
gradproof calls next to "proven"/"agree"."""

import gc
import sys
import threading
import warnings

import numpy as np
from sympy.core.parameters import global_parameters

FLIP = {"refuted": "proven", "undecided": "proven", "differ": "agree", "undecidable": "agree",
        "cannot decide": "agree"}
AUDITED = []


def flip(frame, event, arg):
    if event == "call":
        for key in ("status", "verdict"):
            value = frame.f_locals.get(key)
            if isinstance(value, str) and value in FLIP:
                frame.f_locals[key] = FLIP[value]
    return None


def on_collection(phase, info):
    flip(sys._getframe(1), "call", None)


def audit(event, args):
    AUDITED.append(event)


def _settrace():
    sys.settrace(flip)


def _settrace_caught():   # the refusal caught and ignored: still reported
    try:
        sys.settrace(flip)
    except RuntimeError:
        pass


def _settrace_and_remove():   # active only inside the call
    sys.settrace(flip)
    sys.settrace(None)


def _setprofile():
    sys.setprofile(flip)


def _threading_settrace():
    threading.settrace(flip)


def _threading_setprofile():
    threading.setprofile(flip)


def _gc_callback():
    gc.callbacks.append(on_collection)


def _audit_hook():
    sys.addaudithook(audit)


def _sympy_evaluate():
    global_parameters.evaluate = False


def _sympy_distribute():
    global_parameters.distribute = False


def _sympy_exp_is_pow():
    global_parameters.exp_is_pow = True


#: name → (what installs it, words of the refusal)
HOOKS = {"settrace": (_settrace, "sys.settrace"), "settrace caught": (_settrace_caught, "sys.settrace"),
         "settrace removed": (_settrace_and_remove, "sys.settrace"), "setprofile": (_setprofile, "sys.setprofile"),
         "threading.settrace": (_threading_settrace, "threading.settrace"),
         "threading.setprofile": (_threading_setprofile, "threading.setprofile"),
         "gc.callbacks": (_gc_callback, "gc.callbacks"), "audit hook": (_audit_hook, "sys.addaudithook"),
         "sympy evaluate": (_sympy_evaluate, "evaluate: True → False"),
         "sympy distribute": (_sympy_distribute, "distribute: True → False"),
         "sympy exp_is_pow": (_sympy_exp_is_pow, "exp_is_pow: False → True")}

#: which hook the layer below installs (set by the test, or by GRADPROOF_TEST_HOOK for a command line)
CHOICE = {"hook": None}


def install():
    if CHOICE["hook"] is not None:
        HOOKS[CHOICE["hook"]][0]()


def sq_forward(x):
    return x ** 2, x


def sq_backward(dout, cache):
    """Wrong: 3x where the derivative of x² is 2x."""
    install()
    return 3 * dout * cache


def quiet_forward(x):
    return x ** 2, x


def quiet_backward(dout, cache):
    """Right, but turns warnings into errors and numpy's traps on: settings put back, not refused."""
    warnings.simplefilter("error")
    np.seterr(all="raise")
    sys.setrecursionlimit(80)
    return 2 * dout * cache
