"""A forward called for the first time: the user's code loaded afresh in a new interpreter, forked per question.

A forward can keep state between calls anywhere in the process — a module global nested too deep to
fingerprint, a ``collections.deque``, a ``functools.lru_cache``, an attribute of another module, of numpy
or of ``__main__``, an object without a ``__dict__`` — where :mod:`gradproof.derive.usercode.state` does not
look. What no such place survives is a new interpreter. :class:`Zygote` starts one
(``python -m gradproof.derive.usercode.zygote``), which loads the user's file or module
(:func:`gradproof.derive.usercode.loading.fresh_module`) and calls nothing; each :meth:`Zygote.outputs`
forks it, and the fork builds the layer from the fresh objects and calls its forward once, at the values
asked: the first call that copy ever sees. The zygote itself never calls the user's functions, so every
fork starts from the same untouched state, whatever was asked before.

What crosses back is plain data: the outputs as float64 arrays in an ``.npz`` file (read with
``allow_pickle=False``) and one JSON line, never a pickle of the child's. Requests go the other way as
pickles of gradproof's own data (names, the layer's arguments, the values).

Limits: POSIX only (fork; elsewhere :func:`unavailable` says why, and the check says so); state on disk or in
the environment is shared with the new interpreter; a forward that tells the new interpreter apart from
the old one (its process id, its argv) can behave differently in each, as any code can that inspects
its surroundings. The zygote sets ``GRADPROOF_AFRESH`` so that a check started inside it runs no zygote
of its own (a module that checks its layers when imported).
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.usercode import guard
from gradproof.derive.usercode.conventions import Layer
from gradproof.derive.usercode.loading import fresh_module, resolve

#: set in the zygote's environment (and so in anything it starts)
INSIDE = "GRADPROOF_AFRESH"
#: seconds a fork's answer may take beyond the user's time limit (starting the interpreter, loading the file)
GRACE = 30.0
#: the fork's exit status when the user's code failed (its message is in the reply file)
FAILED = 3
#: how an answer begins where the fresh copy could not be loaded at all
UNLOADED = "it fails to load afresh"


def unavailable() -> str:
    """Why no fresh interpreter can be forked here ("": it can)."""
    if not hasattr(os, "fork"):
        return "this platform cannot fork a fresh interpreter"
    if os.environ.get(INSIDE):
        return "this is a check run inside gradproof's own fresh interpreter"
    return ""


@dataclass(frozen=True)
class Question:
    """What a fork needs to call the forward: the objects' qualified names in the fresh copy (the forward,
    the backward or None; a class to construct with ``init`` for a layer object), and the :class:`Layer`'s
    fields other than its functions."""

    names: tuple
    fields: dict
    init: tuple | None = None


class Zygote:
    """A new interpreter holding a fresh copy of ``where`` (a ``.py`` path or a module name), loaded with
    this process's ``sys.path``; :meth:`outputs` asks it, :meth:`close` ends it."""

    def __init__(self, where: str, timeout: float | None):
        self.where, self.timeout, self.owner = where, timeout, os.getpid()
        environment = {**os.environ, INSIDE: "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "gradproof.derive.usercode.zygote"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env=environment, start_new_session=True)
        self._send((list(sys.path), where, timeout))

    def outputs(self, question: Question, values: list, timeout: float | None) -> tuple[list | None, str]:
        """The forward's outputs at ``values``, called first in a fork of the fresh copy (float64 arrays),
        or None and why not."""
        with tempfile.TemporaryDirectory(prefix="gradproof-afresh-") as folder:
            reply = str(Path(folder) / "reply")
            try:
                payload = pickle.dumps((reply, pickle.dumps((question, [np.asarray(v) for v in values], timeout))))
            except Exception as error:  # noqa: BLE001 - an argument that cannot be copied to another process
                return None, f"its arguments cannot be sent to another process ({type(error).__name__}: {error})"
            if not self._send(payload, framed=True):
                return None, "the fresh interpreter ended before it was asked"
            answer = self._answer(timeout)
            if answer is None:
                return None, "the fresh interpreter did not answer in time"
            return _read_reply(answer, reply)

    def _send(self, message, framed: bool = False) -> bool:
        """Write one framed message; False if the zygote is gone (a broken pipe is an answer here, not the
        signal that ends gradproof, which restores SIGPIPE's default for ``gradproof … | head``)."""
        data = message if framed else pickle.dumps(message)
        restore = None
        if hasattr(signal, "SIGPIPE") and threading.current_thread() is threading.main_thread():
            restore = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            self.process.stdin.write(struct.pack("<Q", len(data)) + data)
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):   # ValueError: the pipe was closed here
            return False
        finally:
            if restore is not None:
                signal.signal(signal.SIGPIPE, restore)

    def _answer(self, timeout: float | None) -> dict | None:
        wait = None if timeout is None else timeout + GRACE
        ready, _, _ = select.select([self.process.stdout], [], [], wait)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.close()
            return None
        return json.loads(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """End the zygote and any fork still running (its own process group, started for it); in a forked
        copy of the process that started it, nothing (the zygote is its parent's)."""
        if self.owner != os.getpid():
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


def _read_reply(answer: dict, reply: str) -> tuple[list | None, str]:
    status = answer.get("status")
    if status == 0:
        with np.load(reply + ".npz", allow_pickle=False) as arrays:
            return [arrays[f"out{k}"] for k in range(len(arrays.files))], ""
    if status == FAILED:
        return None, Path(reply + ".txt").read_text()
    if status == "unloaded":
        return None, answer.get("reason", "")
    how = f"exit status {status}" if isinstance(status, int) and status >= 0 else f"signal {-status}"
    return None, f"it ended its process ({how}) when called afresh"


#: zygotes kept, per file or module, with what they loaded; the oldest is ended past LIMIT
_ALIVE: dict = {}
LIMIT = 4


def zygote_for(where: str, timeout: float | None) -> Zygote:
    """The running zygote of ``where`` if it loaded the same file with the same ``sys.path``, else a new one
    (an edited file gets a new zygote: it never answers for code that is no longer there)."""
    key = (where, _stamp(where), tuple(sys.path))
    kept = _ALIVE.pop(key, None)
    if kept is None or not kept.alive() or kept.owner != os.getpid():   # a fork's copy is its parent's
        kept = Zygote(where, timeout)
    _ALIVE[key] = kept
    while len(_ALIVE) > LIMIT:
        _ALIVE.pop(next(iter(_ALIVE))).close()
    return kept


def _stamp(where: str) -> tuple:
    """The file's modification time and size (for a module: its file's), to tell an edited one."""
    path = where if where.endswith(".py") else getattr(sys.modules.get(where), "__file__", None)
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return ()
    return (stat.st_mtime_ns, stat.st_size) if stat else ()


@atexit.register
def close_all() -> None:
    """End the zygotes this process started (a forked child that exits leaves its parent's alone)."""
    while _ALIVE:
        _ALIVE.popitem()[1].close()


# ----------------------------------------------------------------------------- the zygote's side


def serve() -> None:
    """The zygote: load the copy, then one fork per question until the parent closes the pipe."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)                                 # what the user's code writes to fd 1 goes nowhere
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    path, where, timeout = pickle.loads(_frame(requests))
    sys.path[:] = path
    try:
        module, unloaded = _load(where, timeout), ""
    except InputError as error:
        module, unloaded = None, f"{UNLOADED}: {error}"
    while (frame := _frame(requests)) is not None:
        reply, question = pickle.loads(frame)      # the question itself is read in the fork
        if module is None:
            replies.write(json.dumps({"status": "unloaded", "reason": unloaded}) + "\n")
            replies.flush()
            continue
        pid = os.fork()
        if pid == 0:   # the fork: whatever happens, it ends here and never returns to this loop
            code = 1
            try:
                code = _first_call(module, question, reply)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        replies.write(json.dumps({"status": code}) + "\n")
        replies.flush()


def _load(where: str, timeout):
    """The fresh copy, loaded once here and never called (a ``.py`` file's folder stays on ``sys.path``: its
    neighbours are imported afresh too, at load time or when the fork calls)."""
    if where.endswith(".py"):
        sys.path.insert(0, str(Path(where).resolve().parent))
    return fresh_module(where, timeout)


def _first_call(module, asked: bytes, reply: str) -> int:
    """In the fork: build the layer from the fresh objects, call its forward once, write the reply."""
    try:
        question, values, timeout = pickle.loads(asked)   # may import the user's classes: afresh, here
        layer = _layer(module, question, timeout)
        outs = guard.call(layer.outputs, values, what=layer.forward_name, timeout=timeout).value
        arrays = {f"out{k}": _float(o) for k, o in enumerate(outs)}
    except InputError as error:
        Path(reply + ".txt").write_text(str(error))
        return FAILED
    except BaseException as error:  # noqa: BLE001 - what the outputs turned out to be
        Path(reply + ".txt").write_text(f"{type(error).__name__}: {error}")
        return FAILED
    np.savez(reply + ".npz", **arrays)
    return 0


def _layer(module, question: Question, timeout) -> Layer:
    forward, backward = (None if n is None else resolve(module, n) for n in question.names)
    fields = dict(question.fields)
    if question.init is not None:
        instance = guard.call(forward, *question.init, what=f"{fields['name']}(…)", timeout=timeout).value
        forward, backward, fields["module"] = instance.forward, instance.backward, instance
    return Layer(forward=forward, backward=backward, **fields)


def _float(out) -> np.ndarray:
    array = out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)
    return np.asarray(array, dtype=float)


def _frame(stream) -> bytes | None:
    head = stream.read(8)
    if len(head) < 8:
        return None
    return stream.read(struct.unpack("<Q", head)[0])


if __name__ == "__main__":
    serve()
