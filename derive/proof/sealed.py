"""Running the user's recurrence so that it cannot reach the other side of a proof.

A proof computes its own side (E, ``sympy.diff``, the lemmas) from fresh objects before the user's code
runs, and calls the user's code through :func:`gradproof.derive.usercode.guard.call`. What the code could
still change is shared state: the tables of activations, losses and their symbolic forms, the opaque
functions' derivative rules, the Ψ recurrence's own steps, any function or class of gradproof's modules,
sympy's and mpmath's namespaces, and the modules and classes of sympy the decision computes with
(expressions, numbers, polynomials and their rings). :func:`run` takes a snapshot of them before the call and compares after
it: a change is undone and reported as an error (a verdict reached on changed rules would be about other
rules), never silently accepted. (Code that rewrites sympy's internals deeper than the modules and
classes listed here, swaps a function's code object in place, or kills the process, is beyond an
in-process check.)
"""

from __future__ import annotations

import builtins
import dataclasses
import random
import sys
import threading
from collections.abc import Callable
from functools import cached_property

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.polys.rings import PolyElement, PolyRing

from gradproof.derive.errors import InputError
from gradproof.derive.model import activations as activation_table
from gradproof.derive.model import losses as loss_table
from gradproof.derive.symbolic import forms, functions
from gradproof.derive.proof.claims import Claims, claimed_matrices
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import PsiRecurrence, recurrence_name
from gradproof.derive.usercode.guard import UserCodeError, call

#: sympy's classes whose rules the direct side applies, those the decision computes with (expressions,
#: numbers, polynomials and their rings), and the generators of the random method's points
_SYMPY_CLASSES = (sp.exp, sp.log, sp.tanh, sp.Heaviside, sp.Max, sp.Add, sp.Mul, sp.Pow, sp.Symbol,
                  sp.Basic, sp.Expr, sp.core.expr.AtomicExpr, sp.Atom, sp.Function, sp.core.function.Application,
                  sp.Dummy, sp.Number, sp.Rational, sp.Integer, sp.Float, type(sp.S.Zero), type(sp.S.One),
                  type(sp.S.NegativeOne), sp.Poly, PolyElement, PolyRing, sp.Piecewise, sp.MatrixBase,
                  random.Random, random.SystemRandom)


def _tables(network) -> dict[str, dict]:
    return {"the activation table": activation_table.ACTIVATIONS, "the loss table": loss_table.LOSSES,
            "the activations' symbolic forms": forms.ACTIVATION_FORMS, "the losses' symbolic forms": forms.LOSS_FORMS,
            "the closed forms": functions.EXPLICIT_FORMS, "the numpy functions": functions.NUMPY_FUNCTIONS,
            "your activations' closed forms": forms.CLOSED_FORMS}


def _objects(network) -> dict[str, object]:
    found = {}
    for table in (activation_table.ACTIVATIONS, loss_table.LOSSES, forms.ACTIVATION_FORMS, forms.LOSS_FORMS):
        found.update({f"{type(v).__name__} {k!r}": v for k, v in table.items()})
    for act in network.activations:
        found[f"the activation {act.name!r}"] = act
        if act.symbolic is not None:
            found[f"the activation {act.name!r}'s symbolic form"] = act.symbolic
    found[f"the loss {network.loss.name!r}"] = network.loss
    if network.loss.symbolic is not None:
        found[f"the loss {network.loss.name!r}'s symbolic form"] = network.loss.symbolic
    return found


#: the modules besides gradproof's whose namespaces a proof relies on (numpy's products in the random
#: method, random's generators for its points, the builtins everywhere)
_RELIED_ON = ("sympy", "mpmath", "numpy", "builtins", "math", "random", "fractions", "functools",
              "sympy.core.basic", "sympy.core.expr", "sympy.core.function", "sympy.core.add", "sympy.core.mul",
              "sympy.core.power", "sympy.core.numbers", "sympy.core.exprtools", "sympy.polys.rings",
              "sympy.polys.polytools", "sympy.polys.polyutils", "sympy.simplify.radsimp")


def _modules() -> dict:
    return {name: module for name, module in list(sys.modules.items())
            if module is not None and (name in _RELIED_ON or name.startswith("gradproof"))}


def _classes(network) -> dict[str, type]:
    classes = list(_SYMPY_CLASSES) + [functions.sigmoid, functions.softplus, functions.relu, functions.Exp,
                                       functions.a, PsiRecurrence]
    for act in network.activations:
        function = getattr(act.symbolic, "function", None)
        if isinstance(function, type):
            classes.append(function)
    for name, module in _modules().items():
        if name.startswith("gradproof"):
            classes += [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == name]
    return {f"the class {cls.__module__}.{cls.__qualname__}": cls for cls in classes}


def _fields(obj) -> dict:
    """The object's attributes, but for values its cached properties computed on first use."""
    return {k: v for k, v in vars(obj).items() if not isinstance(getattr(type(obj), k, None), cached_property)}


def snapshot(network) -> dict:
    """What the user's code must leave as it is."""
    return {"tables": {name: dict(table) for name, table in _tables(network).items()},
            "objects": {name: (obj, _fields(obj)) for name, obj in _objects(network).items()},
            "classes": {name: (cls, dict(vars(cls))) for name, cls in _classes(network).items()},
            "modules": {name: (module, dict(vars(module))) for name, module in _modules().items()}}


def restore(network, before: dict) -> list[str]:
    """Put back whatever changed since ``before``; the names of what had changed."""
    changed = []
    for name, table in _tables(network).items():
        if table != before["tables"][name] or any(table[k] is not v for k, v in before["tables"][name].items()):
            table.clear()
            table.update(before["tables"][name])
            changed.append(name)
    for name, (obj, fields) in before["objects"].items():
        now = _fields(obj)
        if now.keys() != fields.keys() or any(now[k] is not v for k, v in fields.items()):
            for key in now.keys() - fields.keys():
                object.__delattr__(obj, key)
            for key, value in fields.items():
                object.__setattr__(obj, key, value)
            changed.append(name)
    for name, (cls, attributes) in before["classes"].items():
        now = dict(vars(cls))
        altered = [k for k in now.keys() | attributes.keys()
                   if now.get(k) is not attributes.get(k) and (cls, k) not in _COUNTERS]
        if altered:
            for key in altered:
                if key in attributes:
                    setattr(cls, key, attributes[key])
                else:
                    delattr(cls, key)
            changed.append(f"{name} ({', '.join(sorted(altered))})")
    for name, (module, names) in before["modules"].items():
        now = vars(module)
        altered = [k for k in names if now.get(k, _GONE) is not names[k]]
        altered += [k for k in now.keys() - names.keys() if k in _BUILTINS]  # a new global shadowing a builtin
        for key in altered:
            if key in names:
                now[key] = names[key]
            else:
                del now[key]
        if altered:
            changed.append(f"the module {name} ({', '.join(sorted(altered))})")
    return changed


_GONE = object()
#: class attributes that change whenever anyone computes (sympy numbers its Dummy symbols)
_COUNTERS = frozenset({(sp.Dummy, "_count")})
_BUILTINS = frozenset(vars(builtins))


_RULE_METHODS = ("fdiff", "eval", "_eval_derivative")
_last_rules: list = [None]


def fresh_rules(network) -> None:
    """Clear sympy's cache if a derivative rule changed since the last proof: sympy caches derivatives,
    so a result computed under another ``fdiff`` would otherwise outlive the rule it came from."""
    rules = tuple((name, tuple(id(vars(cls).get(method)) for method in _RULE_METHODS))
                  for name, cls in _classes(network).items())
    if rules != _last_rules[0]:
        sp.core.cache.clear_cache()
        _last_rules[0] = rules


def fingerprint(value) -> int:
    """A hash of the proof's own side (tuples, lists, dicts, frozen dataclasses, sympy expressions): equal
    before and after the user's code ran, or that code reached it (through the call stack, say)."""
    if isinstance(value, (list, tuple)):
        return hash(tuple(fingerprint(v) for v in value))
    if isinstance(value, dict):
        return hash(tuple((fingerprint(k), fingerprint(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # its fields and cached values
        return hash((type(value), tuple((k, fingerprint(v)) for k, v in sorted(vars(value).items()))))
    return hash(value)


def run(function: Callable, *args, network, what: str, own=()):
    """``function(*args)`` under the guard, with gradproof's shared state and the proof's ``own`` side
    (computed before) checked afterwards, and no thread of the user's left running."""
    before, sealed, threads = snapshot(network), fingerprint(own), set(threading.enumerate())
    try:
        return call(function, *args, what=what).value
    finally:
        changed = restore(network, before)
        if fingerprint(own) != sealed:
            changed.append("the proof's own side (the definition's derivatives or the lemmas, computed before it ran)")
        if any(thread.is_alive() for thread in set(threading.enumerate()) - threads):
            changed.append("the set of running threads (it left a thread running, which could change anything later)")
        if changed:
            sp.core.cache.clear_cache()  # anything computed under the changed rules
            raise UserCodeError(f"{what} changed {'; '.join(changed)}: a proof must not depend "
                                "on what the code under test rewrites (shared state was restored)")


def unchanged_since(network, before: dict) -> None:
    """At the end of a proof: nothing shared changed while it ran (a change is undone and an error)."""
    changed = restore(network, before)
    if changed:
        sp.core.cache.clear_cache()
        raise UserCodeError(f"while the proof ran, something changed {'; '.join(changed)} (restored): the proof "
                            "is void")


def claims_for(sym, extra=()) -> Claims:
    """The vocabulary of claims about ``sym``: its symbols (and ``extra`` ones), its activations' functions
    and those their derivative rules apply (an opaque activation's a' is a function of its own)."""
    classes = [f for f in (getattr(form, "function", None) for form in sym.activations) if isinstance(f, type)]
    point = sp.Dummy("z")
    rules = [type(node) for f in classes for node in functions.rule(f)(point).atoms(AppliedUndef)]
    symbols = [w for matrix in sym.wbar for w in matrix]
    return Claims(symbols + list(sym.x) + list(sym.y) + list(extra), classes + rules)


def user_gradients(network, recurrence, claims: Claims, own=()) -> list:
    """The recurrence's ∂E/∂W̄[l] for the real network: run on a fresh SymbolicNetwork of its own, under the
    guard (``own``: the proof's side, checked unchanged), every entry rebuilt in ``claims``' vocabulary."""
    theirs = SymbolicNetwork(network)
    what = recurrence_name(recurrence)
    function = recurrence.gradients if isinstance(recurrence, PsiRecurrence) else recurrence

    def rebuilt(sym):   # read inside the guard: iterating what the code returned can run its code (round 25)
        produced = function(sym)
        try:
            return claimed_matrices(produced, network.shapes, claims, what)
        except UserCodeError:
            raise
        except InputError as error:   # gradproof's verdict on what was returned, not an error of the code's
            raise UserCodeError(str(error)) from None
    return run(rebuilt, theirs, network=network, what=what, own=own)
