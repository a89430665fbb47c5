"""The interpreter-wide state the user's code can change, kept around every call into it.

Some of what code can do to the process outlives the call and reaches gradproof's own code afterwards:

- **hooks that run code later** — a trace or profile function (``sys.settrace``, ``sys.setprofile``, and
  ``threading.settrace``/``threading.setprofile`` for threads started later), a garbage-collector callback
  (``gc.callbacks``), a ``sys.monitoring`` tool (Python 3.12+), an audit hook (``sys.addaudithook``): such a
  hook runs in the middle of gradproof's code and can rewrite its variables (a trace function writing a
  frame's ``f_locals``), so a verdict computed under it would be the hook's. While the user's code runs,
  ``sys.settrace``/``sys.setprofile`` and adding an audit hook are refused (an audit hook of gradproof's
  raises RuntimeError in the code that tries; an audit hook cannot be removed once added, so it is never
  let in); whatever else is left installed is removed. Either is then reported as
  :class:`SharedStateChanged` (one clear error, exit 2), never a verdict;
- **settings gradproof computes under** — sympy's global parameters (``evaluate``, ``distribute``,
  ``exp_is_pow``): put back, and reported the same way (expressions built under them are not the ones a
  proof reasons about);
- **code gradproof computes with** — the functions, classes and constants of builtins, numpy, sympy, mpmath,
  symengine, gradproof and the standard library: kept by :mod:`gradproof.derive.usercode.namespaces`, a
  replacement undone and reported the same way;
- **settings that only change how errors and numbers are reported** — the warnings filters, numpy's error
  handling (``np.seterr``, ``np.seterrcall``), mpmath's precision, the recursion limit, the integer
  string limit, ``sys.stderr``: put back silently.

Limits: code that calls C (ctypes) or edits frames it reaches through the call stack directly (not through a
hook) is beyond this; numpy's, sympy's and mpmath's settings are kept only where the library was loaded
before the call (sympy's parameters: from their defaults otherwise).
"""

from __future__ import annotations

import gc
import sys
import threading
import warnings
from dataclasses import dataclass

from gradproof.derive.errors import InputError
from gradproof.derive.usercode import namespaces

#: sympy's global parameters as sympy starts (``sympy.core.parameters``), for a call that first imports sympy
SYMPY_DEFAULTS = {"evaluate": True, "distribute": True, "exp_is_pow": False}
#: audit events that install a hook running in the middle of gradproof's code: refused while user code runs
REFUSED_EVENTS = {"sys.settrace": "installed a trace function (sys.settrace)",
                  "sys.setprofile": "installed a profile function (sys.setprofile)",
                  "sys._settraceallthreads": "installed a trace function in every thread",
                  "sys._setprofileallthreads": "installed a profile function in every thread",
                  "sys.addaudithook": "added an audit hook (sys.addaudithook; refused: it could not be removed)",
                  "sys.monitoring.register_callback": "registered a sys.monitoring callback"}


class SharedStateChanged(InputError):
    """The user's code changed interpreter-wide state a verdict depends on (restored, then reported)."""


class Refused(RuntimeError):
    """Raised in the user's code when it installs a hook (a RuntimeError: an audit hook may raise only those)."""


@dataclass(eq=False)   # one call's watch is itself, never another that happens to look the same
class _Watch:
    thread: int
    seen: list


_WATCHES: list[_Watch] = []
_INSTALLED: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if event in namespaces.AUDITED:
        namespaces.audited(event, args)
    if not _WATCHES or event not in REFUSED_EVENTS:
        return
    mine = [w for w in _WATCHES if w.thread == threading.get_ident()]
    if not mine:   # a thread of the user's own tracing itself: its business, not gradproof's code
        return
    watch = mine[-1]
    if REFUSED_EVENTS[event] not in watch.seen:
        watch.seen.append(REFUSED_EVENTS[event])
    raise Refused(f"gradproof refuses {event} while your code runs under a check (a hook could rewrite the "
                  "check's own variables)")


def _ensure_audit_hook() -> None:
    if not _INSTALLED:
        sys.addaudithook(_audit)   # permanent (Python has no removal): idle outside a watch
        _INSTALLED.append(True)


@dataclass(frozen=True)
class Snapshot:
    hooks: dict
    sympy: dict | None
    quiet: dict
    watch: _Watch


def hooks() -> dict:
    """The hooks that run code in the middle of gradproof's: name → what is installed."""
    found = {"the trace function (sys.settrace)": sys.gettrace(),
             "the profile function (sys.setprofile)": sys.getprofile(),
             "the trace function of new threads (threading.settrace)": threading.gettrace(),
             "the profile function of new threads (threading.setprofile)": threading.getprofile(),
             "the garbage collector's callbacks (gc.callbacks)": tuple(gc.callbacks)}
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        found["the sys.monitoring tools"] = tuple(monitoring.get_tool(k) for k in range(6))
    return found


def _sympy_parameters():
    module = sys.modules.get("sympy.core.parameters")
    return None if module is None else module.global_parameters


def _quiet() -> dict:
    numpy, mpmath = sys.modules.get("numpy"), sys.modules.get("mpmath")
    return {"filters": list(warnings.filters), "showwarning": warnings.showwarning, "stderr": sys.stderr,
            "recursion": sys.getrecursionlimit(), "digits": sys.get_int_max_str_digits(),
            "numpy": None if numpy is None else (numpy.geterr(), numpy.geterrcall()),
            "mpmath": None if mpmath is None else mpmath.mp.prec}


#: set while the guard's own bookkeeping runs: the time limit's alarm waits for it (guard._time_limit), so
#: that it never leaves a watch behind or a namespace half put back
BUSY: list[bool] = []


def snapshot() -> Snapshot:
    """What a call must leave as it is; from now on, until :func:`restore`, hooks are refused in this thread."""
    BUSY.append(True)
    try:
        _ensure_audit_hook()
        parameters = _sympy_parameters()
        before = Snapshot(hooks(), None if parameters is None else dict(vars(parameters)), _quiet(),
                          _Watch(threading.get_ident(), []))
        hooked = _hooks_between()
        between = namespaces.enter()   # (counts the call as begun only where it returns nothing)
        if hooked and not between:
            namespaces.not_entered()
        between = hooked + between
        if between:
            refuse(between, "code of yours that ran between the calls of your code")
        _WATCHES.append(before.watch)
        return before
    finally:
        BUSY.pop()


#: the hooks as each running check found them when it began (:func:`begin_check`)
_CHECK_HOOKS: list[dict] = []


def begin_check() -> None:
    """A check begins: the hooks now are the caller's; any other found between the calls of the user's code,
    or at the end, was installed by it (a finalizer run in gradproof's code: adversarial round 26)."""
    _CHECK_HOOKS.append(hooks())


def end_check() -> list[str]:
    """A check ends: the hooks installed since it began, removed and named."""
    return [f"changed {name}" for name in _restore_hooks(_CHECK_HOOKS.pop())] if _CHECK_HOOKS else []


def _hooks_between() -> list[str]:
    """At the outermost call within a check: the hooks installed since the check began, removed and named."""
    if not _CHECK_HOOKS or namespaces.calls_running():
        return []
    return [f"changed {name}" for name in _restore_hooks(_CHECK_HOOKS[-1])]


def restore(before: Snapshot) -> list[str]:
    """Put back what changed since ``before`` and stop refusing hooks: what the code did that a verdict
    depends on, in words ("installed a trace function (sys.settrace)"; empty: nothing)."""
    BUSY.append(True)
    try:
        return _restore(before)
    finally:
        BUSY.pop()


def _restore(before: Snapshot) -> list[str]:
    if before.watch in _WATCHES:
        _WATCHES.remove(before.watch)
    did = list(before.watch.seen)
    did += [f"changed {name}" for name in _restore_hooks(before.hooks)]
    did += namespaces.leave()
    did += _restore_sympy(before.sympy)
    _restore_quiet(before.quiet)
    enclosing = [w for w in _WATCHES if w.thread == before.watch.thread]
    if enclosing:   # a call inside a longer guarded run: that run refuses too, should this report be swallowed
        enclosing[-1].seen.extend(d for d in did if d not in enclosing[-1].seen)
    return did


def refuse(did: list[str], what: str) -> None:
    """Raise :class:`SharedStateChanged` naming what ``what`` did, if it did anything."""
    if did:
        raise SharedStateChanged(f"{what} {'; '.join(dict.fromkeys(did))}: a verdict must not depend on what the "
                                 "code under test leaves behind in the process (restored; nothing was judged)")


def _same(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    return a is b


def _restore_hooks(before: dict) -> list[str]:
    now = hooks()
    altered = [name for name, value in before.items() if not _same(now.get(name), value)]
    for name in altered:
        value = before[name]
        if "sys.settrace" in name:
            sys.settrace(value)
        elif "sys.setprofile" in name:
            sys.setprofile(value)
        elif "threading.settrace" in name:
            threading.settrace(value)
        elif "threading.setprofile" in name:
            threading.setprofile(value)
        elif "gc.callbacks" in name:
            gc.callbacks[:] = list(value)
        else:
            _free_monitoring_tools(value)
    return altered


def _free_monitoring_tools(before: tuple) -> None:
    monitoring = sys.monitoring
    for tool, name in enumerate(before):
        if name is None and monitoring.get_tool(tool) is not None:
            monitoring.set_events(tool, 0)
            monitoring.free_tool_id(tool)


_GONE = object()


def _restore_sympy(before: dict | None) -> list[str]:
    parameters = _sympy_parameters()
    if parameters is None:
        return []
    expected, now = before if before is not None else SYMPY_DEFAULTS, dict(vars(parameters))
    altered = sorted(k for k in expected.keys() | now.keys() if now.get(k, _GONE) is not expected.get(k, _GONE))
    for key in altered:
        if key in expected:
            setattr(parameters, key, expected[key])   # sympy clears its cache on a change
        else:
            delattr(parameters, key)
    if not altered:
        return []
    text = ", ".join(f"{k}: {expected.get(k, 'unset')!r} → {now.get(k, 'unset')!r}" for k in altered)
    return [f"changed sympy's global parameters ({text})"]


def _restore_quiet(before: dict) -> None:
    if warnings.filters != before["filters"]:
        warnings.filters[:] = before["filters"]
        getattr(warnings, "_filters_mutated", lambda: None)()   # warnings caches its decisions per filter list
    warnings.showwarning, sys.stderr = before["showwarning"], before["stderr"]
    if sys.getrecursionlimit() != before["recursion"]:
        sys.setrecursionlimit(before["recursion"])
    if sys.get_int_max_str_digits() != before["digits"]:
        sys.set_int_max_str_digits(before["digits"])
    numpy, mpmath = sys.modules.get("numpy"), sys.modules.get("mpmath")
    if numpy is not None and before["numpy"] is not None and (numpy.geterr(), numpy.geterrcall()) != before["numpy"]:
        numpy.seterr(**before["numpy"][0])
        numpy.seterrcall(before["numpy"][1])
    if mpmath is not None and before["mpmath"] is not None and mpmath.mp.prec != before["mpmath"]:
        mpmath.mp.prec = before["mpmath"]
