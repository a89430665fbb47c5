"""Calling the user's code without letting it decide the verdict.

Every call into code a user wrote (a backward pass, a recurrence, a layer, a module being imported) goes
through :func:`call`, which makes what the code does visible instead of silent:

- any exception it raises, ``SystemExit`` (``sys.exit``, ``exit()``) included, becomes a
  :class:`UserCodeError` naming the function, the exception and the line of the user's file;
- ``os._exit`` during the call raises instead of ending the process;
- what it prints goes to stderr, prefixed, never to stdout (a ``--json`` answer stays one JSON object);
- a call that runs past ``timeout`` seconds is stopped with :class:`UserCodeTimeout` (by SIGALRM: on Unix,
  from the main thread; elsewhere there is no in-process limit, and the command line's isolated run,
  :mod:`gradproof.derive.usercode.isolation` where it is used, kills the process instead; code that cancels
  the timer or ignores SIGALRM meets :func:`_watchdog`); a timeout that
  is not a number of seconds from 0 to :data:`MAX_TIMEOUT` is bad input, refused before the code runs;
- hooks it installs (a trace or profile function, a gc callback, an audit hook), sympy's global
  parameters it changes, and code of the libraries gradproof computes with that it replaces (``builtins.abs``,
  ``np.max``, a sympy class's method, a function's ``__code__``: :mod:`gradproof.derive.usercode.namespaces`)
  are undone and reported as :class:`gradproof.derive.usercode.interpreter.SharedStateChanged`; the warnings
  filters, numpy's error handling and the like are put back silently
  (:mod:`gradproof.derive.usercode.interpreter`).

``KeyboardInterrupt`` is the person at the keyboard, not the code: it passes through. Code that writes to
file descriptor 1 directly, or kills its own process, is beyond an in-process guard.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gradproof.derive.errors import InputError
from gradproof.derive.usercode import interpreter, namespaces
from gradproof.derive.usercode.timeouts import DEFAULT_TIMEOUT, MAX_TIMEOUT, checked_timeout  # noqa: F401

class UserCodeError(InputError):
    """The user's code raised, exited or otherwise broke off before returning a value."""


class UserCodeTimeout(BaseException):
    """Raised inside the user's code when its time is up: a BaseException, so ``except Exception`` in the
    user's code does not swallow it."""


class _ExitRefused(BaseException):
    """Raised in place of ``os._exit`` while the user's code runs."""

    def __init__(self, status):
        super().__init__(f"os._exit({status})")
        self.status = status


@dataclass(frozen=True)
class Outcome:
    """What a guarded call returned and printed."""

    value: object
    printed: str


def call(function: Callable, *args, what: str = "your code", timeout: float | None = DEFAULT_TIMEOUT,
         **kwargs) -> Outcome:
    """``function(*args, **kwargs)`` under the guard; ``what`` names it in messages ("your backward pass").
    Only what the call itself raises is the user's: the guard's own set-up failing is gradproof's."""
    timeout = checked_timeout(timeout)
    printed, before = io.StringIO(), interpreter.snapshot()
    try:
        with _no_process_exit(), _time_limit(timeout, what), contextlib.redirect_stdout(printed):
            value = _blamed(function, args, kwargs, what, timeout)
    except UserCodeTimeout:   # the alarm rang after the code returned, before it was disarmed
        raise UserCodeError(_late(what, timeout)) from None
    finally:
        did = interpreter.restore(before)   # before anything of gradproof's runs again
        echo(printed.getvalue(), what)
        interpreter.refuse(did, what)
    return Outcome(value, printed.getvalue())


@contextlib.contextmanager
def check():
    """One check of the user's code, from before its first call to its verdict. What changed before it is
    the caller's business; what changes between the calls of the user's code — gradproof's own code runs
    there, and can run the user's (a finalizer freed by gradproof, a method of a returned object) — is
    the user's: undone and refused at the next call, and at the end (the verdict is then void)."""
    namespaces.begin()
    interpreter.begin_check()
    try:
        yield
    finally:
        did = interpreter.end_check() + namespaces.end()
        interpreter.refuse(did, "code of yours that ran between the calls of your code")


def one_check(function: Callable) -> Callable:
    """``function`` (a check: check_layer, prove_layer, check_backward, prove) run as :func:`check`."""
    @functools.wraps(function)
    def checked(*args, **kwargs):
        with check():
            return function(*args, **kwargs)
    return checked


def ready() -> None:
    """Before a check starts its clock: the guard's one-time snapshot of the code gradproof computes with
    (:mod:`gradproof.derive.usercode.namespaces`) is taken now, not inside the first call's time."""
    namespaces.ready()


def _late(what: str, timeout: float | None) -> str:
    return (f"{what} did not return within {timeout or 0:g} s (stopped; raise the limit with --timeout, or "
            "timeout= in Python)")


def _blamed(function: Callable, args, kwargs, what: str, timeout: float | None):
    """The call, whatever it raises reported as the user's code's (a :class:`UserCodeError`)."""
    try:
        return function(*args, **kwargs)
    except (KeyboardInterrupt, UserCodeError, interpreter.SharedStateChanged):  # a person; a report made
        raise
    except UserCodeTimeout:
        raise UserCodeError(_late(what, timeout)) from None
    except _ExitRefused as exit_:
        raise UserCodeError(f"{what} called os._exit({exit_.status}) {where(exit_)}: a check needs it to "
                            "return its result") from None
    except SystemExit as exit_:
        raise UserCodeError(f"{what} called sys.exit({exit_.code!r}) {where(exit_)}: a check needs it to "
                            "return its result") from None
    except BaseException as error:  # the user's code: report whatever it raised
        raise UserCodeError(f"{what} raised {type(error).__name__}: {error} {where(error)}") from error


@contextlib.contextmanager
def kept(what: str):
    """One call of the user's code inside a longer guarded run of gradproof's (a sweep of finite
    differences): the hooks and settings it leaves are undone before gradproof's code goes on, and reported
    (here, and again by the enclosing :func:`call`, should the report be swallowed on the way)."""
    before = interpreter.snapshot()
    try:
        yield
    finally:
        interpreter.refuse(interpreter.restore(before), what)


def echo(printed: str, what: str) -> None:
    """Show what the user's code printed on stderr, each line prefixed, so stdout stays gradproof's."""
    for line in printed.splitlines():
        print(f"[{what} printed] {line}", file=sys.stderr)


def where(error: BaseException) -> str:
    """"(at file.py:LINE)": the innermost frame in the user's own files (not gradproof's, not an installed
    library's), else the innermost outside gradproof, else ""."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _is_ours(f.filename)]
    own = [f for f in frames if not _is_library(f.filename)]
    for frame in reversed(own or frames):
        return f"(at {Path(frame.filename).name}:{frame.lineno})"
    return ""


_HERE = Path(__file__).resolve().parents[1]  # derive/ (gradproof/derive/ when installed)
_OURS = (_HERE, _HERE.parent / "numeric", _HERE.parent / "gradproof", _HERE.parent / "cli")
_LIBRARIES = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def _is_ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return any(path.is_relative_to(root) for root in _OURS)


def _is_library(filename: str) -> bool:
    return filename.startswith("<") or str(Path(filename).resolve()).startswith(_LIBRARIES)


@contextlib.contextmanager
def _no_process_exit():
    """``os._exit`` raises for the duration instead of ending the process."""
    original = os._exit

    def refuse(status):
        raise _ExitRefused(status)

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = original


@contextlib.contextmanager
def _time_limit(timeout: float | None, what: str):
    usable = (timeout is not None and timeout > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum, frame):
        if interpreter.BUSY:   # the guard's own bookkeeping: ring again just after it
            signal.setitimer(signal.ITIMER_REAL, RETRY)
            return
        raise UserCodeTimeout(what)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    finished = threading.Event()
    watchdog = threading.Thread(target=_watchdog, args=(timeout, what, expire, finished), daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        finished.set()
        watchdog.join()  # gone before anyone counts the threads the user's code left running
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: seconds before the alarm rings again when it found the guard's own bookkeeping running
RETRY = 0.005
#: ``os._exit`` as imported (the guard replaces it while user code runs)
_HARD_EXIT = os._exit
#: seconds past the limit before the watchdog signals again, then before it ends the process
WATCHDOG_GRACE = (0.5, 2.0)


def _watchdog(timeout: float, what: str, handler, finished: threading.Event) -> None:
    """The time limit's backstop, for code that cancels the timer (``signal.setitimer(…, 0)``) or replaces
    its handler: past the limit, SIGALRM again, to the main thread, while gradproof's handler is in
    place; if the call still runs, one line on stderr and the process ends with status 2 (bad input: code
    that defeats the time limit), never a verdict."""
    if finished.wait(timeout + WATCHDOG_GRACE[0]):
        return
    if signal.getsignal(signal.SIGALRM) is handler:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)
    if finished.wait(WATCHDOG_GRACE[1]):
        return
    sys.__stderr__.write(f"gradproof: error: {what} ran past the time limit ({timeout:g} s) and kept gradproof's "
                         "timer from stopping it: the process ends here, nothing was judged\n")
    sys.__stderr__.flush()
    _HARD_EXIT(2)
