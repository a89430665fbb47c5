"""Traced arrays: numpy object arrays of :class:`Traced` entries that stay traced through numpy.

:class:`TracedArray` is an ``ndarray`` subclass with dtype object. Every ufunc on it (``np.exp``,
``np.maximum``, ``+``, comparisons, ``.sum()``, ``np.add.at``) and every numpy function
(``np.pad``, ``np.where``, ``np.hstack``, ``np.argmax``) comes through here: the entries are lifted to
traced elements (numpy's padding zeros, ``np.maximum(x, 0.0)``'s zeros), element functions numpy has no
object loop for (``np.logaddexp``, ``np.log1p``) are supplied, and what has no exact meaning
(``np.linalg``, ``np.fft``, rounding, ``astype(float)``) raises :class:`Untraceable`.

:func:`exact_buffers` makes ``np.zeros``/``np.ones``/``np.empty``/``np.full`` with a float dtype, called
from the user's code, return traced arrays of exact constants, so that code that fills a buffer made with
``np.zeros`` (a loop over a convolution's outputs) is traced instead of stopping at the first write.
"""

from __future__ import annotations

import contextlib
import random
import sys
import types
from collections.abc import Iterator

import numpy as np
import sympy as sp

from gradproof.derive.trace.element import Traced, Untraceable, _library, lift, user_line

_lift_all = np.frompyfunc(lift, 1, 1)


class TracedArray(np.ndarray):
    """An object array whose entries are all :class:`Traced` (see the module's docstring)."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        inputs = tuple(_plain(value) for value in inputs)
        if out is not None:
            kwargs["out"] = tuple(_plain(value) for value in out)
        try:
            result = _apply(ufunc, method, inputs, kwargs)
        except (TypeError, ValueError) as error:
            if "cast" not in str(error) and "float" not in str(error):
                raise
            raise Untraceable(f"np.{ufunc.__name__} writing traced values into a numeric array ({error})") from None
        if out is not None:
            return out[0] if len(out) == 1 else out
        return wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        module = getattr(func, "__module__", "") or ""
        if module.startswith(("numpy.linalg", "numpy.fft")):
            raise Untraceable(f"np.{module.split('.')[1]}.{func.__name__}")
        return wrap(func(*_plain_all(args), **{k: _plain_all(v) for k, v in kwargs.items()}))

    def astype(self, dtype, *args, **kwargs):
        kind = np.dtype(dtype).kind
        if kind == "O":
            return self.copy()
        if kind == "b":
            return np.vectorize(bool, otypes=[bool])(np.asarray(self))
        raise Untraceable(f"astype({np.dtype(dtype).name}) of a traced array")

    def __float__(self):
        raise Untraceable("float() of a traced array")

    def __reduce__(self):
        raise Untraceable("pickling a traced array")

    def __deepcopy__(self, memo):
        return self.copy()


def _plain(value):
    return value.view(np.ndarray) if isinstance(value, TracedArray) else value


def _plain_all(value):
    if isinstance(value, TracedArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_all(v) for v in value)
    return value


def wrap(result):
    """numpy's result back as traced: object arrays lifted entry by entry, everything else unchanged."""
    if isinstance(result, tuple):
        return tuple(wrap(r) for r in result)
    if isinstance(result, list):
        return [wrap(r) for r in result]
    if isinstance(result, np.ndarray) and result.dtype == object:
        lifted = _lift_all(result) if result.ndim else np.asarray(lift(result[()]), dtype=object)
        return np.asarray(lifted, dtype=object).view(TracedArray)
    if isinstance(result, (float, int, np.floating, np.integer)) and not isinstance(result, (bool, np.bool_)):
        return result
    return result


def traced_array(entries: np.ndarray) -> TracedArray:
    """A traced array holding ``entries`` (an object array of Traced)."""
    return np.asarray(entries, dtype=object).view(TracedArray)


# --------------------------------------------------------------------------- elementwise functions

def _logaddexp(a, b):
    return (a.exp() + b.exp()).log()


def _maximum(a, b):
    return a if a >= b else b


def _minimum(a, b):
    return a if a <= b else b


def _sign(a):
    return Traced(sp.Integer(a._sign()), float(a._sign()))


def _unary(name):
    return lambda a: getattr(a, name)()


_ELEMENTWISE = {
    np.add: lambda a, b: a + b, np.subtract: lambda a, b: a - b, np.multiply: lambda a, b: a * b,
    np.true_divide: lambda a, b: a / b, np.power: lambda a, b: a ** b, np.negative: lambda a: -a,
    np.positive: lambda a: a, np.absolute: abs, np.fabs: abs, np.square: lambda a: a * a,
    np.reciprocal: lambda a: 1 / a, np.sign: _sign, np.conjugate: lambda a: a,
    np.maximum: _maximum, np.minimum: _minimum, np.fmax: _maximum, np.fmin: _minimum,
    np.logaddexp: _logaddexp, np.sqrt: _unary("sqrt"),
    np.exp: _unary("exp"), np.log: _unary("log"), np.log1p: _unary("log1p"), np.expm1: _unary("expm1"),
    np.tanh: _unary("tanh"), np.sinh: _unary("sinh"), np.cosh: _unary("cosh"),
    np.sin: _unary("sin"), np.cos: _unary("cos"),
}
_COMPARISONS = {np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
                np.logical_not, np.logical_and, np.logical_or}
#: ufuncs whose numpy object loops are used as they are (for reductions and np.add.at)
_NATIVE_CALLS = {np.matmul}
_NATIVE_METHODS = {np.add, np.subtract, np.multiply, np.maximum, np.minimum, np.fmax, np.fmin, np.true_divide}
_FINITE = {np.isfinite: True, np.isnan: False, np.isinf: False}
_PY_UFUNCS = {ufunc: np.frompyfunc(lambda *xs, f=f: f(*(lift(x) for x in xs)), ufunc.nin, 1)
              for ufunc, f in _ELEMENTWISE.items()}


def _apply(ufunc, method, inputs, kwargs):
    if method == "__call__" and ufunc in _PY_UFUNCS:
        kwargs.pop("dtype", None)
        kwargs.pop("casting", None)
        return _PY_UFUNCS[ufunc](*inputs, **kwargs)
    if method == "__call__" and (ufunc in _COMPARISONS or ufunc in _NATIVE_CALLS):
        return getattr(ufunc, method)(*inputs, **kwargs)
    if method == "__call__" and ufunc in _FINITE:
        return np.full(np.shape(inputs[0]), _FINITE[ufunc])
    if method != "__call__" and ufunc in _NATIVE_METHODS:
        return getattr(ufunc, method)(*inputs, **kwargs)
    what = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    raise Untraceable(what)


# --------------------------------------------------------------------------- float buffers made exact

_BUFFER_MAKERS = ("zeros", "ones", "empty", "full")
_FILL = {"zeros": 0, "ones": 1, "empty": 0}


class _UserNumpy(types.ModuleType):
    """numpy as the user's modules see it during a trace: float buffers exact, np.random noted."""

    def __init__(self, notes: list[str]):
        super().__init__("numpy")
        self._notes = notes

    def __getattr__(self, name):
        if name in _BUFFER_MAKERS:
            return _exact_maker(name, getattr(np, name), self._notes)
        if name == "random":
            _note(self._notes, f"np.random at {user_line()}")
        return getattr(np, name)


class _UserRandom(types.ModuleType):
    """Python's random module as the user's modules see it during a trace: every use noted."""

    def __init__(self, notes: list[str]):
        super().__init__("random")
        self._notes = notes

    def __getattr__(self, name):
        _note(self._notes, f"random.{name} at {user_line()}")
        return getattr(random, name)


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


@contextlib.contextmanager
def exact_buffers(notes: list[str], namespaces: tuple[dict, ...] = ()) -> Iterator[None]:
    """While active, a float buffer the user's code makes (np.zeros(shape) …) is a traced array of exact
    constants instead, and each place this happens is added to ``notes`` ("np.zeros at layers.py:12"), as is
    each use of np.random or of Python's random module ("random.random at layers.py:40").

    Only the user's modules see this: their global names bound to numpy are swapped for a proxy (numpy's
    own code, compiled code included, keeps numpy), and the ``namespaces`` given (the globals of the
    user's functions, for a file loaded outside sys.modules). ``from numpy import zeros`` is not covered:
    a write into such a buffer stops as untraceable."""
    proxies, swapped = {np: _UserNumpy(notes), random: _UserRandom(notes)}, []
    for namespace in _user_namespaces(namespaces):
        if _watched(namespace):
            continue
        for name, value in list(namespace.items()):
            if value is np or value is random:
                swapped.append((namespace, name, value))
                namespace[name] = proxies[value]
    try:
        yield
    finally:
        for namespace, name, value in swapped:
            namespace[name] = value


def _watched(namespace: dict) -> bool:
    """A module of gradproof's own (traced as a user's code when gradproof proves its own rules): the watch
    around user code keeps it as it was, so its numpy is never swapped (a change between the calls of a
    check is refused as the user's)."""
    name = namespace.get("__name__")
    return type(name) is str and name.split(".")[0] in ("gradproof", "numpy", "sympy")


def _user_namespaces(extra: tuple[dict, ...]) -> list[dict]:
    found = {id(ns): ns for ns in extra}
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if filename and not _library(filename):
            found.setdefault(id(vars(module)), vars(module))
    return list(found.values())


def _exact_maker(name, original, notes):
    def make(shape, *args, **kwargs):
        dtype = kwargs.get("dtype", args[1 if name == "full" else 0] if len(args) > (name == "full") else None)
        value = kwargs.get("fill_value", args[0] if name == "full" and args else _FILL.get(name))
        if np.dtype(dtype).kind != "f":
            return original(shape, *args, **kwargs)
        _note(notes, f"np.{name} at {user_line()}")
        return traced_array(np.full(shape, lift(value), dtype=object))

    return make
