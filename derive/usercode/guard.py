"""Calling the user's code without letting it decide the verdict.

Every call into code a user wrote (a backward pass, a recurrence, a layer, a module being imported) goes
through :func:`call`, which makes what the code does visible instead of silent:

- any exception it raises, ``SystemExit`` (``sys.exit``, ``exit()``) included, becomes a
  :class:`UserCodeError` naming the function, the exception and the line of the user's file;
- ``os._exit`` during the call raises instead of ending the process;
- what it prints goes to stderr, prefixed, never to stdout (a ``--json`` answer stays one JSON object);
- a call that runs past ``timeout`` seconds is stopped with :class:`UserCodeTimeout` (by SIGALRM: on Unix,
  from the main thread; elsewhere there is no in-process limit, and the command line's isolated run,
  :mod:`gradproof.derive.usercode.isolation` where it is used, kills the process instead).

``KeyboardInterrupt`` is the person at the keyboard, not the code: it passes through. Code that writes to
file descriptor 1 directly, or kills its own process, is beyond an in-process guard.
"""

from __future__ import annotations

import contextlib
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

#: seconds a single call may take before it is stopped (the command line's --timeout sets it)
DEFAULT_TIMEOUT = 60.0


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
    """``function(*args, **kwargs)`` under the guard; ``what`` names it in messages ("your backward pass")."""
    printed = io.StringIO()
    try:
        with _no_process_exit(), _time_limit(timeout, what), contextlib.redirect_stdout(printed):
            value = function(*args, **kwargs)
    except (KeyboardInterrupt, UserCodeError):  # the person at the keyboard; a report already made
        raise
    except UserCodeTimeout:
        raise UserCodeError(f"{what} did not return within {timeout:g} s (stopped; raise the limit with "
                            "--timeout, or timeout= in Python)") from None
    except _ExitRefused as exit_:
        raise UserCodeError(f"{what} called os._exit({exit_.status}) {where(exit_)}: a check needs it to "
                            "return its result") from None
    except SystemExit as exit_:
        raise UserCodeError(f"{what} called sys.exit({exit_.code!r}) {where(exit_)}: a check needs it to "
                            "return its result") from None
    except BaseException as error:  # the user's code: report whatever it raised
        raise UserCodeError(f"{what} raised {type(error).__name__}: {error} {where(error)}") from error
    finally:
        echo(printed.getvalue(), what)
    return Outcome(value, printed.getvalue())


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
        raise UserCodeTimeout(what)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
