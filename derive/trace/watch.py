"""What the user's code does besides computing, watched while a layer is traced and run on floats.

A proof is about the code's function of its inputs. Two things let code compute something else when it is
checked than when it is used, without any difference showing at the point:

- **inspecting the call stack** (``inspect.stack()``, ``sys._getframe``, a traceback's ``tb_frame``): the
  code can tell who called it. :func:`watching` records each such inspection made from the user's code
  (an audit hook, installed once, idle outside :func:`watching`; logging's and warnings' own frame look-ups
  are not the user's);
- **module state** (a counter in a global dict, an attribute on the function, a closure variable): the
  code can behave differently on later calls. :func:`module_state` fingerprints what the user's functions
  can change between calls (their module's globals, their own attributes, their closure cells), and
  :func:`changed` names what differs between two fingerprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import types
from collections.abc import Callable, Iterator

import numpy as np

from gradproof.derive.trace.element import _library, user_line

#: audit events that hand out a frame (the caller's, or any on the stack)
FRAME_EVENTS = {"sys._getframe", "sys._current_frames"}
#: attributes whose reading raises the audit event object.__getattr__ and leads to a frame
FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"}
#: standard-library modules that walk frames on their caller's behalf (the caller is the one inspecting)
_WALKERS = ("inspect.py", "traceback.py")

_WATCHES: list[list[str]] = []
_BUSY: list[bool] = []
_INSTALLED: list[bool] = []


def _hook(event: str, args: tuple) -> None:
    if not _WATCHES or _BUSY:
        return
    if event not in FRAME_EVENTS and not (event == "object.__getattr__" and len(args) > 1
                                          and args[1] in FRAME_ATTRIBUTES):
        return
    _BUSY.append(True)
    try:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.endswith(_WALKERS) and _library(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is not None and not _library(frame.f_code.co_filename):
            text = f"{event if event in FRAME_EVENTS else args[1]} at {user_line()}"
            if text not in _WATCHES[-1]:
                _WATCHES[-1].append(text)
    finally:
        _BUSY.pop()


@contextlib.contextmanager
def watching(found: list[str]) -> Iterator[list[str]]:
    """While active, every inspection of the call stack made by the user's code is added to ``found``
    ("sys._getframe at layers.py:12")."""
    if not _INSTALLED:
        sys.addaudithook(_hook)   # permanent (Python has no removal): idle while no watch is active
        _INSTALLED.append(True)
    _WATCHES.append(found)
    try:
        yield found
    finally:
        _WATCHES.remove(found)


def module_state(functions: tuple[Callable | None, ...]) -> dict:
    """A fingerprint of what ``functions`` can change between calls: their modules' global values (modules,
    functions and classes by identity only), their attributes and their closure cells."""
    state: dict = {}
    for function in functions:
        if function is None:
            continue
        namespace = getattr(function, "__globals__", None) or {}
        module = namespace.get("__name__", "?")
        for name, value in list(namespace.items()):
            if not name.startswith("__") and not isinstance(value, _IDENTITY_ONLY):
                state[f"{module}.{name}"] = _fingerprint(value)
        label = getattr(function, "__qualname__", "function")
        state[f"{label}.__dict__"] = _fingerprint(getattr(function, "__dict__", {}))
        for k, cell in enumerate(getattr(function, "__closure__", None) or ()):
            try:
                state[f"{label} (closure variable {function.__code__.co_freevars[k]})"] = _fingerprint(cell.cell_contents)
            except ValueError:   # an empty cell
                continue
    return state


_IDENTITY_ONLY = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type, types.MethodType)


def _fingerprint(value, depth: int = 6) -> object:
    """A comparable summary of ``value`` read without running any of its code (no pickling, no __eq__):
    numbers and strings as they are, numeric arrays by a hash of their bytes, a random generator by its
    state, containers and plain objects' attributes by their contents (to ``depth`` levels), anything else
    by identity."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return (type(value).__name__, value)
    if depth == 0 or isinstance(value, _IDENTITY_ONLY):
        return ("id", id(value))
    if isinstance(value, np.ndarray) and value.dtype != object:
        return ("array", value.dtype.str, value.shape, hashlib.sha256(np.ascontiguousarray(value).tobytes()).digest())
    if isinstance(value, np.random.Generator):
        return ("generator", _fingerprint(value.bit_generator.state, depth - 1))
    if type(value) in (list, tuple) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return (type(value).__name__, tuple(_fingerprint(v, depth - 1) for v in list(value)[:10_000]))
    if type(value) is dict:
        return ("dict", tuple((_fingerprint(k, 1), _fingerprint(v, depth - 1))
                                         for k, v in list(value.items())[:10_000]))
    if type(value) in (set, frozenset):
        return (type(value).__name__, len(value))
    attributes = getattr(value, "__dict__", None)
    if type(attributes) is dict:
        return ("object", type(value).__qualname__, _fingerprint(attributes, depth - 1))
    return ("id", id(value))


def changed(before: dict, after: dict) -> list[str]:
    """The names whose fingerprint differs (or that appeared or vanished)."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
