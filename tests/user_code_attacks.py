"""Backward passes that try to move the verdict or end the check instead of returning a gradient: each must
end as one clear line (or leave the verdict alone). Used by tests/test_trust_numeric.py, in Python and
through the command line (--backward tests/user_code_attacks.py:NAME)."""

import inspect
import os
import signal
import sys
import time

import numpy as np

from gradproof.numeric.compiled.matrix import forward


def zeros(wbar, x, y):
    return [np.zeros_like(w) for w in wbar]


def exits(wbar, x, y):
    sys.exit(0)


def hard_exit(wbar, x, y):
    os._exit(0)


def killed(wbar, x, y):
    os.kill(os.getpid(), signal.SIGKILL)


def hangs(wbar, x, y):
    time.sleep(3600)


def hangs_past_a_cancelled_timer(wbar, x, y):
    signal.setitimer(signal.ITIMER_REAL, 0)
    time.sleep(3600)


def hangs_ignoring_the_alarm(wbar, x, y):
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(3600)


class Stop(BaseException):
    pass


def base_exception(wbar, x, y):
    raise Stop("stop")


def interrupts(wbar, x, y):
    raise KeyboardInterrupt


def prints(wbar, x, y):
    print("debug: called")
    os.write(1, b"raw bytes on file descriptor 1\n")
    return zeros(wbar, x, y)


def traps_and_mutates(wbar, x, y):
    """Floating-point traps on, and every argument overwritten in place."""
    np.seterr(all="raise")
    grads = zeros(wbar, x, y)
    for w in wbar:
        w[...] = 0
    x[...] = 0
    y[...] = 0
    return grads


def moves_the_target(wbar, x, y):
    """Zeros, after walking the caller's frames to put every sample's target on the network's output (where
    the true gradient is 0): a verdict that moved with it would be a silent pass."""
    frame = inspect.currentframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if all(hasattr(value, name) for name in ("network", "wbar", "y", "columns")):
                xs, ys = value.columns()
                output = forward(value.network, value.wbar, xs, ys).output.T.reshape(value.y.shape)
                try:
                    value.y[...] = output
                except ValueError:  # read-only: the check's private copy
                    pass
        frame = frame.f_back
    return zeros(wbar, x, y)
