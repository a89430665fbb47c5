"""Looking at what the user's code may have touched without running any of its code.

The watch (:mod:`gradproof.derive.usercode.namespaces`) reviews namespaces the user's code can write to.
Ordinary Python runs code of the objects it handles: ``x in some_set`` calls ``type(x).__hash__`` (a
metaclass's, for a class), ``d.get(name)`` may call a stored key's ``__eq__`` (a ``str`` subclass put into
a namespace), ``f"{v}"`` calls ``v.__format__``, ``kind.__name__`` a metaclass's property. Code run there
runs inside gradproof's own review, where a patch it makes is taken for the state to keep (adversarial
round 24). So the review goes by identity and by C-level slots only:

- names: a namespace is read by iterating it (no hash, no comparison); names that are not exactly
  ``str`` are set apart (:func:`split_names`) before any lookup;
- types: compared with ``is``, read through ``type``'s own descriptors, kept in tables keyed by
  ``object.__hash__`` (the pointer: no user hash), each entry holding its type so that a key is never
  reused by another;
- a class's attribute lookups are cached by CPython per type; a dict written behind a class's back (the
  dict behind its mappingproxy) leaves that cache stale, so a class whose dict moved is told it changed
  (:func:`forget_lookups`, CPython's ``PyType_Modified``).
"""

from __future__ import annotations

import ctypes
import itertools
import operator
import types

#: a number telling live objects apart (the pointer, rotated): ``id`` without its audit event, and no
#: user-defined ``__hash__``
key_of = object.__hash__
TYPE_DICT = type.__dict__["__dict__"].__get__
TYPE_MRO = type.__dict__["__mro__"].__get__
TYPE_NAME = type.__dict__["__qualname__"].__get__
TYPE_FLAGS = type.__dict__["__flags__"].__get__
#: an object's class set through ``object``'s own descriptor (no metaclass or class ``__setattr__``)
SET_CLASS = object.__dict__["__class__"].__set__
_MODIFIED = ctypes.pythonapi.PyType_Modified
_MODIFIED.argtypes, _MODIFIED.restype = [ctypes.py_object], None


def split_names(mapping) -> tuple[dict, bool]:
    """The entries of ``mapping`` whose name is exactly a ``str`` (a new dict), and whether any other
    name was there; by iteration only (where every name is a ``str``, told at C speed: a copy)."""
    if all(map(operator.is_, map(type, mapping), itertools.repeat(str))):
        return dict(mapping), False
    names = {}
    odd = False
    for name, value in mapping.items():
        if type(name) is str:
            names[name] = value
        else:
            odd = True
    return names, odd


def get(mapping, name: str, default=None):
    """``mapping[name]`` for an exact ``str`` name, comparing only exact ``str`` names."""
    for key, value in mapping.items():
        if type(key) is str and key == name:
            return value
    return default


def keep_only_names(mapping: dict) -> None:
    """Drop every name that is not exactly a ``str`` from a dict, without hashing or comparing it."""
    names, odd = split_names(mapping)
    if odd:
        mapping.clear()
        mapping.update(names)


def forget_lookups(cls: type) -> None:
    """CPython's attribute cache for ``cls`` (and its subclasses) dropped: the next lookup reads its dict."""
    _MODIFIED(cls)


_DESCRIPTORS: dict[int, tuple[type, bool]] = {}


def is_code(value) -> bool:
    """A function, class, module, descriptor or anything callable (read from the type: no user code runs)."""
    kind = type(value)
    known = _DESCRIPTORS.get(key_of(kind))
    if known is None or known[0] is not kind:
        known = _DESCRIPTORS[key_of(kind)] = (kind, _describes(kind))
    return known[1] or callable(value)


def _describes(kind: type) -> bool:
    """A module type, or a class with ``__get__`` somewhere in its MRO."""
    return any(k is types.ModuleType for k in TYPE_MRO(kind)) or any(
        "__get__" in [name for name in TYPE_DICT(k) if type(name) is str] for k in TYPE_MRO(kind))
