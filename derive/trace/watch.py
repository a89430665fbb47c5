"""What the user's code does besides computing, watched while a layer is traced and run on floats.

A proof is about the code's function of its inputs. Two things let code compute something else when it is
checked than when it is used, without any difference showing at the point:

- **inspecting the call stack** (``inspect.stack()``, ``sys._getframe``, a traceback's ``tb_frame``): the
  code can tell who called it. :func:`watching` records each such inspection made from the user's code
  (an audit hook, installed once, idle outside :func:`watching`; logging's and warnings' own frame look-ups
  are not the user's);
- **module state** (a counter in a global dict, an attribute on the function, a closure variable): the
  code can behave differently on later calls. :func:`module_state` fingerprints what the user's functions
  can change between calls (their module's globals, their own attributes, defaults and closure cells, their
  class's attributes), and :func:`changed` names what differs between two fingerprints
  (:mod:`gradproof.derive.usercode.state`, shared with the numeric layer check).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from gradproof.derive.trace.element import _library, user_line
from gradproof.derive.usercode.state import changed, module_state

__all__ = ["changed", "module_state", "watching"]

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
