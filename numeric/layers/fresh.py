"""The forward loaded afresh: does it compute, at the point the finite differences moved farthest, what the
long-lived forward the check called all along computed there?

A forward that keeps its first result somewhere (a cache, a memo) and returns it at every later point is a
constant to finite differences: a zero backward "agrees" with it, a correct one "differs". The fingerprint
of :mod:`gradproof.derive.usercode.state` names such state where it looks (module globals, defaults, closures,
class attributes); this test does not depend on finding it. After the sweep, a fresh copy of the user's
code, loaded in a new interpreter and never called before (:mod:`gradproof.derive.usercode.zygote`), is
called FIRST at the farthest point of the sweep (the evaluation whose inputs moved most from the checked
point, relative to max(1, |v|)), and φ there compared with what the watched forward gave at that point.

Both are one evaluation of φ at the same inputs, each within δφ of the exact value (the error model of
:mod:`gradproof.numeric.layers.check`), so a forward without state gives two values within 2δφ; beyond that
the forward keeps state between calls and the check is undecidable (never agree, never a DIFFER that would
blame the backward). A fresh forward that fails, or returns outputs of another shape, is undecidable the
same way.

Where the code comes from: the command line's file (``check-layer FILE.py:NAME``, a class with its
constructor's arguments); in Python, the module of a module-level forward (a function or a class) that its
qualified name finds again — by the module's name where importing it finds the same file, else from the
file. A lambda, a closure, a function defined in ``__main__`` (a script or a notebook), a layer object
handed in (its constructor's arguments are unknown) or a module that does not load again cannot be loaded
afresh: the check says so in a note and rests on the fingerprint alone there, which state it does not look
at escapes. (The command line's own file failing to load afresh is undecidable: there the file is given.)
"""

from __future__ import annotations

import importlib.machinery
import inspect
import os
import sys
from dataclasses import dataclass

import numpy as np

from gradproof.derive.usercode import zygote
from gradproof.numeric.layers.evaluation import contract

#: two evaluations of φ at the same inputs by a stateless forward differ by at most this many δφ
EVALUATIONS = 2


class NotAfresh(Exception):
    """The module a source was found in does not load afresh (see :func:`afresh`)."""


@dataclass(frozen=True)
class Source:
    """Where a layer's code is loaded afresh: ``where`` a ``.py`` path or an importable module name; the
    qualified names of the forward and the backward (None) in it, or of a class and its constructor's
    arguments ``init`` (a layer object)."""

    where: str
    names: tuple
    init: tuple | None = None


def source_of(forward, backward) -> tuple[Source | None, str]:
    """The :class:`Source` of a module-level forward function or class (found again by qualified name in its
    module; the backward too where it is one, else None: a fresh copy only runs the forward), or None and
    why it cannot be loaded afresh."""
    module = sys.modules.get(getattr(forward, "__module__", None) or "")
    if module is None or module.__name__ == "__main__" or not getattr(module, "__file__", None):
        return None, "it is not defined in a module gradproof can load again (a script's or a notebook's __main__)"
    if _name_in(module, forward) is None:
        return None, ("it is not a module-level function or class of a file (a lambda, a closure, a layer object "
                      "whose constructor's arguments are unknown)")
    return Source(_where(module), (_name_in(module, forward), _name_in(module, backward))), ""


def _name_in(module, function) -> str | None:
    """``function``'s qualified name where it finds it again in ``module`` (None: it does not)."""
    name = getattr(function, "__qualname__", "") if function is not None else ""
    bound = inspect.ismethod(function) and not isinstance(function.__self__, type)   # an object's method
    if bound or not name or "<" in name or getattr(function, "__module__", None) != module.__name__ or \
            not _found_again(module, name, function):
        return None
    return name


def _where(module) -> str:
    """The module's name where importing that name afresh finds its file again (searched on the path, not in
    ``sys.modules``), else its file (a module loaded from a path under a name of its own, as pytest's
    importlib mode does)."""
    parent = module.__name__.rpartition(".")[0]
    path = getattr(sys.modules.get(parent), "__path__", None) if parent else None
    try:
        spec = importlib.machinery.PathFinder.find_spec(module.__name__, path)
    except (ImportError, ValueError):
        spec = None
    same = spec is not None and spec.origin and os.path.realpath(spec.origin) == os.path.realpath(module.__file__)
    return module.__name__ if same or not module.__file__.endswith(".py") else module.__file__


def _found_again(module, qualname: str, function) -> bool:
    try:
        value = module
        for part in qualname.split("."):
            value = inspect.getattr_static(value, part)
    except AttributeError:
        return False
    if isinstance(value, (classmethod, staticmethod)):
        value = value.__func__
    return value is getattr(function, "__func__", function)


def start(source: Source | None, timeout) -> zygote.Zygote | str | None:
    """The fresh interpreter for ``source``, started now (it loads the code while the check sweeps); None
    where there is no source or this platform has none; why, where starting one failed."""
    if source is None or zygote.unavailable():
        return None
    try:
        return zygote.zygote_for(source.where, timeout)
    except OSError as error:   # no process could be started (a limit on processes, memory)
        return f"no fresh interpreter could be started ({type(error).__name__}: {error})"


def unchecked(layer, why: str) -> str:
    """The note for a forward not called afresh: what that leaves unchecked."""
    return (f"{layer.forward_name} was not called afresh ({why}): state it keeps between calls where gradproof "
            "does not look (another module, a deque, an lru_cache, an attribute of numpy) would go unnoticed; "
            "gradproof check-layer FILE.py:NAME loads it afresh")


def afresh(process, source: Source, point, farthest, delta_phi: float, timeout, found: bool = False) -> str:
    """Why the forward keeps state between calls ("" when its fresh copy agrees), from φ at the farthest
    point ``farthest`` = (values, φ there by the watched forward). A source ``found`` from the functions'
    module (not given) that does not load afresh raises :class:`NotAfresh` instead: gradproof's guess at
    where the code lives, not the code's state."""
    values, watched = farthest
    layer, douts = point.layer, point.douts
    fields = {k: v for k, v in vars(layer).items() if k not in ("forward", "backward", "module")}
    question = zygote.Question(source.names, fields, source.init)
    outs, why = process.outputs(question, values, timeout) if not isinstance(process, str) else (None, process)
    if outs is None and found and why.startswith(zygote.UNLOADED):
        raise NotAfresh(why)
    if outs is None:
        return (f"{layer.forward_name} could not be called afresh (loaded again in a new interpreter and called "
                f"first at a point of the finite differences): {why}; so whether it keeps state between calls "
                "is not known, and no finite difference is trusted")
    shapes = [np.shape(o) for o in point.outs]
    if [np.shape(o) for o in outs] != shapes:
        return (f"{layer.forward_name} loaded afresh returns outputs of shapes {[np.shape(o) for o in outs]}, "
                f"not {shapes}: it keeps state between calls")
    fresh = float(np.real(contract(douts, outs)))
    if not (abs(fresh - watched) <= EVALUATIONS * delta_phi or _same(fresh, watched)):
        return (f"your forward returns something else when loaded afresh: it keeps state between calls "
                f"(⟨dout, {layer.forward_name}⟩ = {fresh:.10e} from a fresh copy called first, {watched:.10e} "
                f"from the one the check called all along, at the same point; rounding explains "
                f"{EVALUATIONS * delta_phi:.1e}), so no finite difference is meaningful")
    return ""


def _same(a: float, b: float) -> bool:
    """The same value, NaN and infinities included (both non-finite in the same way)."""
    return a == b or (np.isnan(a) and np.isnan(b))
