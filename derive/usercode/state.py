"""What the user's functions can change between calls, fingerprinted without running their code.

A check is about the code's function of its inputs; code that keeps state between calls (a counter or a
cache in a module global, on the function, in a default argument, a closure variable or a class attribute)
can compute something else on later calls than on the ones a check makes, or the same stale value at every
point (a forward that memoises its first result is a constant function to finite differences).
:func:`module_state` takes a fingerprint; :func:`changed` names what differs between two. The proof of a
layer (:mod:`gradproof.derive.proof.layer`) and the numeric layer check
(:mod:`gradproof.numeric.layers.check`) both leave a layer whose state changed without a verdict.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable

import numpy as np


def module_state(functions: tuple[Callable | type | None, ...]) -> dict:
    """A fingerprint of what ``functions`` (functions, bound methods, classes) can change between calls:
    their modules' global values (modules, functions and classes by identity only), their attributes, their
    defaults and closure cells, and their class's attributes (a bound method's object itself is not
    included: a layer object keeping its cache in ``self`` is its convention)."""
    state: dict = {}
    objects = {id(_object(f)) for f in functions if _object(f) is not None}   # the layer objects: their cache
    for function in functions:
        if function is None:
            continue
        owner = _owner(function)
        if owner is not None and owner.__module__.split(".")[0] not in _LIBRARIES:
            state.update(_class_state(owner, objects))
        function = getattr(function, "__func__", function)
        if not isinstance(function, types.FunctionType):   # a class, a layer object, a library's callable
            continue
        state.update(_globals_state(getattr(function, "__globals__", None) or {}, objects))
        label = getattr(function, "__qualname__", "function")
        state[f"{label}.__dict__"] = _fingerprint(getattr(function, "__dict__", {}))
        state[f"{label} (default arguments)"] = _fingerprint((getattr(function, "__defaults__", None),
                                                              getattr(function, "__kwdefaults__", None)))
        for k, cell in enumerate(getattr(function, "__closure__", None) or ()):
            try:
                state[f"{label} (closure variable {function.__code__.co_freevars[k]})"] = _fingerprint(cell.cell_contents)
            except ValueError:   # an empty cell
                continue
    return state


#: classes of these packages are not the user's (a numpy ufunc handed as a forward)
_LIBRARIES = set(sys.stdlib_module_names) | {"numpy", "scipy", "torch", "sympy", "jax"}


def _owner(function) -> type | None:
    """The class whose attributes ``function`` can keep state in: itself, a method's class, a callable
    object's class."""
    if isinstance(function, type):
        return function
    if isinstance(function, types.MethodType):
        return function.__self__ if isinstance(function.__self__, type) else type(function.__self__)
    return None if isinstance(function, (types.FunctionType, types.BuiltinFunctionType)) else type(function)


def _object(function):
    """The layer object behind ``function`` (a method's object, a callable object), or None."""
    if isinstance(function, types.MethodType):
        return None if isinstance(function.__self__, type) else function.__self__
    if function is None or isinstance(function, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    return function


def _globals_state(namespace: dict, objects: set) -> dict:
    """A module's global values, but the layer objects themselves (a global ``layer = Affine(…)``)."""
    module = namespace.get("__name__", "?")
    return {f"{module}.{name}": _fingerprint(value) for name, value in list(namespace.items())
            if not name.startswith("__") and not isinstance(value, _IDENTITY_ONLY) and id(value) not in objects}


def _class_state(cls: type, objects: set) -> dict:
    """A class's own attributes (a class-level cache or counter) and its module's globals."""
    module = sys.modules.get(cls.__module__)
    state = _globals_state(vars(module), objects) if module is not None else {}
    for klass in cls.__mro__[:-1]:
        state.update({f"{klass.__qualname__}.{name}": _fingerprint(value) for name, value in list(vars(klass).items())
                      if not name.startswith("__") and not isinstance(value, _IDENTITY_ONLY)})
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
