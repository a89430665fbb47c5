"""The user's function in a process of its own: it receives arrays and returns arrays, nothing else.

The command line loads ``FILE.py:NAME`` in a child process and calls it there, one request at a time, over
a pipe. What this buys, beyond the in-process guard (:mod:`gradproof.derive.usercode.guard`):

- ``os._exit``, a crash or a ``kill`` of its own process ends the child, not the check: the parent reports
  that the function ended its process before returning;
- a hang is ended by killing the child after ``timeout`` seconds, whatever the code does with signals;
- the child's file descriptor 1 is its stderr, so ``print``, ``os.write(1, …)`` and C extensions writing to
  stdout cannot reach the parent's standard output (a ``--json`` answer stays one JSON object);
- the parent's frames, samples and references live in another process: inspecting the caller's frames or
  patching gradproof's modules changes the child's copies only;
- what comes back is plain data: the child converts the returned value to a list of numeric numpy arrays
  (or a description of what it was) before sending it, so nothing of the user's is unpickled in the
  parent.

Limits: the child starts as a copy of the parent (fork where available), so it can read what the parent
held when it started (never what the parent computes afterwards, nor change it); the operating system,
the file system and the network are shared (the user's code can write files or send packets as any code
can); resource limits other than time (memory) are not set.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.usercode.guard import UserCodeError, call, checked_timeout
from gradproof.derive.usercode.loading import load_function


@dataclass(frozen=True)
class NotAList:
    """What the function returned when it was not a list or tuple (sent instead of the object)."""

    type_name: str


@dataclass(frozen=True)
class NotAnArray:
    """An entry of the returned list that is not an array of numbers (sent instead of the object)."""

    type_name: str
    problem: str


class IsolatedFunction:
    """``spec`` (``FILE.py:NAME`` or ``MODULE:NAME``) loaded and called in a child process.

    ``what`` names it in messages ("your backward pass"); ``timeout`` bounds the import and each call
    (None: no limit). Use as a context manager, or call :meth:`close`."""

    def __init__(self, spec: str, option: str, what: str, timeout: float | None):
        self.spec, self.option, self.what, self.timeout = spec, option, what, checked_timeout(timeout)
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                              else "spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, spec, option, what), daemon=True)
        self._process.start()
        child.close()
        reply = self._receive(f"{option} {spec} did not finish importing")
        if reply[0] == "input":
            self.close()
            raise InputError(reply[1])
        if reply[0] != "ready":
            self.close()
            raise UserCodeError(reply[1])
        self.__name__ = spec.rsplit(":", 1)[-1]

    def __call__(self, *arrays):
        if not self._send(("call", tuple(_plain(a) for a in arrays))):
            raise UserCodeError(f"{self.what} {self._ended()}")
        reply = self._receive(f"{self.what} did not return")
        if reply[0] != "ok":
            raise UserCodeError(reply[1])
        return reply[1]

    def _receive(self, late: str):
        """The child's next message, or a UserCodeError when it times out or ends."""
        if not self._conn.poll(self.timeout):
            self.close()
            raise UserCodeError(f"{late} within {self.timeout:g} s (stopped; raise the limit with --timeout)")
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            raise UserCodeError(f"{self.what} {self._ended()}") from None

    def _ended(self) -> str:
        self._process.join(1)
        code = self._process.exitcode
        how = f"exit status {code}" if code is not None and code >= 0 else f"signal {-code}" if code else "unknown"
        return (f"ended its process ({how}) before returning a result (os._exit, a crash, or a kill): a check "
                "needs it to return")

    def _send(self, message) -> bool:
        """Send to the child; False if it is gone (a broken pipe is an answer here, not a signal that ends
        gradproof, which otherwise restores SIGPIPE's default for ``gradproof … | head``)."""
        restore = None
        if hasattr(signal, "SIGPIPE") and threading.current_thread() is threading.main_thread():
            restore = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            self._conn.send(message)
            return True
        except (BrokenPipeError, OSError):
            return False
        finally:
            if restore is not None:
                signal.signal(signal.SIGPIPE, restore)

    def close(self) -> None:
        self._send(("stop",))
        self._process.join(0.5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(1)
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve(conn, spec: str, option: str, what: str) -> None:
    """The child: stdout goes to stderr, the function is loaded under the guard, then calls are served."""
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        function = load_function(spec, option, timeout=None)  # guards the import itself
    except UserCodeError as error:
        conn.send(("error", str(error)))
        return
    except InputError as error:
        conn.send(("input", str(error)))
        return
    except BaseException as error:  # noqa: BLE001 - anything else the user's module did while loading
        conn.send(("error", f"{option} {spec} failed to load: {type(error).__name__}: {error}"))
        return
    conn.send(("ready",))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request[0] != "call":
            return
        try:
            value = call(function, *request[1], what=what, timeout=None).value
            conn.send(("ok", portable(value)))
        except InputError as error:
            conn.send(("error", str(error)))
        except KeyboardInterrupt:  # raised by the code (a person's Ctrl-C reaches the parent too)
            conn.send(("error", f"{what} raised KeyboardInterrupt"))


def _plain(argument):
    """An argument as plain data: an array, or a list of arrays."""
    if isinstance(argument, (list, tuple)):
        return [np.array(a) for a in argument]
    return np.array(argument)


def portable(value):
    """The returned value as plain data: a list of numeric arrays, or a description of what it was."""
    if not isinstance(value, (list, tuple)):
        return NotAList(type(value).__name__)
    out = []
    for entry in value:
        try:
            array = np.asarray(entry)
        except Exception as error:  # noqa: BLE001 - anything numpy cannot read, described instead
            out.append(NotAnArray(type(entry).__name__, str(error)))
            continue
        out.append(array if array.dtype.kind in "biufc" else NotAnArray(type(entry).__name__, f"dtype {array.dtype}"))
    return out
