"""The code gradproof computes with, kept as it was around every call of the user's code.

The user's code runs in gradproof's process, and can rebind what gradproof's own code (and the libraries
it computes with) calls afterwards: ``builtins.abs = lambda x: 0 * x``, ``np.max = …``,
``sympy.Expr.__sub__ = …``, ``PythonMPQ.__bool__ = …``, or a function's code swapped in place
(``amax.__code__ = …``). A verdict reached through such code would be the patch's, not the check's.

What is watched: the namespaces (``__dict__``) of every loaded module of :data:`ROOTS` (builtins, numpy,
sympy, mpmath, symengine, gradproof and the standard library, with their submodules) and of the classes
found in them (with their bases and metaclasses); in them every *code* value (a function, a class, a
module, a descriptor such as a property, anything callable) by identity and every public constant (a
number, a string, None) by value; the closure cells of their functions that hold code (a decorator's
wrapped function); ``sys.modules``' entries for those modules; and the code and defaults of every function
of those libraries (``__code__``, ``__defaults__``, ``__kwdefaults__``: CPython raises an audit event
before setting them, and :func:`audited` keeps the old value then). Plain data (counters such as
``Dummy._count``, caches, tables, ``sys.stdout``) changes whenever anyone computes, and is not judged.

How: :func:`enter` before a call of the user's code, :func:`leave` after it. The first call takes a
snapshot (0.1–0.2 s of CPU with sympy and numpy loaded) that is kept for the life of the process. After
that, a call is checked by reading each namespace dict's version tag (:mod:`gradproof.derive.usercode.versions`:
a few thousand tags, with the watched closure cells' contents and modules' classes, in one numpy gather
each; about 60 µs for a call's :func:`enter` and :func:`leave` together) and comparing values only
in the namespaces whose tag moved; where the tags cannot be read, every watched value is compared by
identity (a few milliseconds). A change found when the outermost call *begins* was made outside the
user's code (gradproof's own imports, a test's monkeypatch, the caller's business): it is taken into the
snapshot. A change found when any call *ends* — the outermost, or each call of a finite-difference sweep,
so that a patch made by one call and undone by the next is caught before gradproof's code between them
counts — is the user's: it is undone (the original put back, an added name deleted, sympy's cache and
gradproof's caches cleared) and named ("replaced builtins.abs"); the guard then refuses
(:class:`gradproof.derive.usercode.interpreter.SharedStateChanged`).

Names that appear lazily (a module imported for the first time, a name a module loads on first use) are
not changes: only names present before, and new names that shadow something (any code on a class; a
module global over a builtin), are judged. A function of an installed library first imported during the
call, found where a watched one was, is that library's shim (torch's ``inspect.getfile``,
typing_extensions' ``typing._check_generic``): taken, not refused. Limits: a module the user's code
imports (or puts in ``sys.modules``) for the first time is taken as it is after the call (a patch to it
then is not seen), and so is such a library's function that the user's code set itself; a patch made in
C (ctypes) or by a thread of the user's after its call returned; changes inside data (a table's entries,
a cached object's fields, a ``__kwdefaults__`` dict edited in place, a closure cell holding data);
objects reachable only through data (numpy's random state, other objects' attributes; but sympy's
singletons and mpmath's contexts are: :data:`EVERY_VALUE`, :data:`INSTANCES`); and code of other
packages (scipy, torch) are not watched here. The finders, path hooks and modules' classes:
:mod:`gradproof.derive.usercode.importsystem`.
"""

from __future__ import annotations

import bisect
import builtins
import functools
import itertools
import operator
import os
import sys
import sysconfig
import types
from dataclasses import dataclass

import numpy as np

from gradproof.derive.usercode import inert, versions
from gradproof.derive.usercode.classwatch import Classes
from gradproof.derive.usercode.importsystem import Imports

#: the packages whose modules are watched (and, below, the standard library's)
PACKAGES = frozenset({"builtins", "numpy", "sympy", "mpmath", "symengine", "gradproof"})
ROOTS = PACKAGES | frozenset(sys.stdlib_module_names)
#: names gradproof's own code rebinds while the user's code runs, and puts back itself: the guard's
#: ``os._exit``, ``warnings.catch_warnings``' hooks; and the interactive interpreter's last value
OWN = frozenset({("os", "_exit"), ("warnings", "showwarning"), ("warnings", "_showwarnmsg_impl"),
                 ("builtins", "_")})
#: constants watched by value (public names only: private ones are often counters)
CONSTANTS = frozenset({bool, int, float, complex, str, bytes, type(None)})
_CONSTANT_KEYS = frozenset(map(object.__hash__, CONSTANTS))   # looked up by pointer: no metaclass's hash
#: namespaces whose every value is judged, data too: sympy's singletons (``S.Zero``, ``S.One``: the
#: registry's class holds them, each set once, when first used)
EVERY_VALUE = frozenset({"sympy.core.singleton.SingletonRegistry"})
#: objects whose own namespace is watched like a class's: mpmath's contexts hold their functions (their
#: precision, data, is the interpreter's business: put back silently)
INSTANCES = {"mpmath": ("mp", "fp", "iv")}
_INSTANCE_LABELS = frozenset(f"{module}.{name}" for module, names in INSTANCES.items() for name in names)
#: the most changes named in one report
SHOWN = 6

_GONE = object()
_IMMUTABLE = 1 << 8   # Py_TPFLAGS_IMMUTABLETYPE: a type whose attributes cannot be set from Python
_TYPE_DICT, _TYPE_MRO, _TYPE_NAME, _TYPE_FLAGS = inert.TYPE_DICT, inert.TYPE_MRO, inert.TYPE_NAME, inert.TYPE_FLAGS
_TYPE_MODULE = type.__dict__["__module__"].__get__
_TYPE_SUBCLASS = 1 << 31   # Py_TPFLAGS_TYPE_SUBCLASS: the value is a class
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__
_VALUES = operator.methodcaller("values")
#: a function's attributes that change what it computes, set in place (CPython audits setting each)
FUNCTION_STATE = ("__code__", "__defaults__", "__kwdefaults__")
_CELL = operator.attrgetter("cell_contents")
#: a number telling live objects apart (the pointer, rotated): ``id`` without its audit event, which
#: would call gradproof's audit hook tens of thousands of times per snapshot
_key = inert.key_of
_LRU = type(functools.lru_cache(lambda: None))
#: numpy's dispatcher of ``__array_function__`` (numpy ≥ 1.25: a C type holding the implementation)
_DISPATCHER = type(np.sum) if type(np.sum).__name__ == "_ArrayFunctionDispatcher" else None


@dataclass
class _Namespace:
    """One module's or class's ``__dict__`` as it was (a copy: which names are watched is decided where a
    value moved, so taking it costs one C-level copy)."""

    label: str
    owner: object          # a module or a class
    mapping: object        # its __dict__ (a dict; a class's mappingproxy)
    kept: dict = None      # a copy of it
    tag: object = None     # the dict's version tag (versions.TAGS), where it can be read
    behind: dict = None    # the dict whose tag that is (None where none was found)

    def refresh(self, now: dict | None = None) -> None:
        """Keep the namespace as it is (``now``: its names as :meth:`names` read them)."""
        if versions.TAGS is not None and self.tag is None:
            self.tag, self.behind = versions.TAGS(self.mapping), versions.dict_behind(self.mapping)
        self.kept = dict(now) if now is not None else self.names()[0]

    def names(self) -> tuple[dict, bool]:
        """The entries named by exact strings, and whether another name is there (:func:`inert.split_names`)."""
        return inert.split_names(self.behind if self.behind is not None else self.mapping)

    def moved(self, now: dict | None = None) -> bool:
        """Whether a name came or went or a value is another object than kept (``now``: as :meth:`names`)."""
        now, kept = self.names()[0] if now is None else now, self.kept
        return len(now) != len(kept) or not all(map(operator.is_, map(now.get, kept, itertools.repeat(_GONE)),
                                                    kept.values()))

    def watched(self, name: str, value) -> bool:
        """Code (by identity) and public constants (by value) are judged, in gradproof's own modules private
        ones too (its tolerances and thresholds: adversarial round 26); other data is not, but in
        :data:`EVERY_VALUE`'s namespaces."""
        return (self.label.split(".")[0], name) not in OWN and (
            inert.is_code(value) or (_constant(value) and (not name.startswith("_") or self.own()))
            or (self.label in EVERY_VALUE and not name.startswith("__")))

    def own(self) -> bool:
        """A namespace of gradproof's (a module or class of its own)."""
        return self.label.split(".")[0] == "gradproof"


@dataclass
class _Function:
    """A Python function's closure cells that hold code (a decorator's wrapped function), as they were."""

    label: str
    function: types.FunctionType
    cells: tuple           # (index, cell, contents)


class _Snapshot:
    """Every watched namespace and function, laid out for the quick test: the namespaces' version tags
    where they can be read, else their watched values end to end."""

    def __init__(self):
        self.namespaces: list[_Namespace] = []
        self.known: set[int] = set()
        self.functions: list[_Function] = []
        self.function_ids: set[int] = set()
        self.modules: dict[str, types.ModuleType] = {}
        self.imports, self.classes = Imports(), Classes()
        self.module_count, self.all_modules = -1, set()
        self.lay_out()

    def lay_out(self) -> None:
        """What :func:`_review` compares first, laid out anew."""
        self.mappings = [ns.mapping for ns in self.namespaces]
        self.lengths = list(map(len, self.mappings))
        self.tags = [ns.tag for ns in self.namespaces] if versions.TAGS is not None else None
        self.versions = list(map(versions.VALUE, self.tags)) if self.tags is not None else None
        self.starts = list(itertools.accumulate(self.lengths, initial=0))
        self.flat = None if self.tags is not None else list(self.values())
        self.cells = [(cell, contents, k) for k, f in enumerate(self.functions) for _, cell, contents in f.cells]
        self.cell_objects, self.cell_contents = [c[0] for c in self.cells], [c[1] for c in self.cells]
        self.modules_tag = versions.TAGS(sys.modules) if versions.TAGS is not None else None
        self.modules_version = self.modules_tag.value if self.modules_tag is not None else None
        self.laid_out = (len(self.namespaces), len(self.functions))
        self.gather()
        self.classes.lay_out(self.classed())

    def classed(self) -> list[tuple[str, object]]:
        """The objects whose class is watched (:mod:`classwatch`): every watched module (a ModuleType
        subclass's ``__getattribute__`` answers every attribute without touching the namespace) and class,
        mpmath's contexts, and the values of :data:`EVERY_VALUE`'s namespaces (sympy's singletons)."""
        owners = [(f"the module {ns.label}" if issubclass(type(ns.owner), types.ModuleType) else ns.label, ns.owner)
                  for ns in self.namespaces
                  if issubclass(type(ns.owner), types.ModuleType) or isinstance(ns.owner, type)
                  or ns.label in _INSTANCE_LABELS]
        return owners + [(f"{ns.label}.{name}", value) for ns in self.namespaces if ns.label in EVERY_VALUE
                         for name, value in ns.kept.items() if not name.startswith("__")]

    def gather(self) -> None:
        """The tags and the cells' contents laid out for one read each (:class:`versions.Words`), where
        every tag has a dict behind it; else None, and they are read one by one."""
        behind = [ns.behind for ns in self.namespaces] if self.tags is not None else [None]
        if any(d is None for d in behind):
            self.tag_words = self.cell_words = None
            return
        self.tag_words = versions.Words(versions.addresses(behind) + np.uint64(versions.OFFSET))
        self.tag_values = self.tag_words.read()
        self.cell_words = versions.Words(versions.addresses(self.cell_objects) + np.uint64(versions.CELL_OFFSET))
        self.cell_pointers = versions.addresses(self.cell_contents)

    def settle(self, moved: list[int]) -> None:
        """After a review: with tags and nothing new, only the moved namespaces' tags are read again."""
        if self.tags is None or self.laid_out != (len(self.namespaces), len(self.functions)):
            self.lay_out()
            return
        for k in moved:
            self.versions[k], self.lengths[k] = self.tags[k].value, len(self.mappings[k])
        self.modules_version = self.modules_tag.value
        if self.tag_words is not None:
            self.tag_values[moved] = self.tag_words.read()[moved]
        if any(self.namespaces[k].label in EVERY_VALUE or self.namespaces[k].label in _INSTANCE_LABELS
               for k in moved):
            self.classes.lay_out(self.classed())

    def values(self):
        """Every namespace's values now, end to end."""
        return itertools.chain.from_iterable(map(_VALUES, self.mappings))

    def clean(self) -> bool:
        """Every namespace as laid out (its tag unmoved; else every watched value the same object)."""
        if self.tag_words is not None:
            return np.array_equal(self.tag_words.read(), self.tag_values)
        if self.tags is not None:
            return list(map(versions.VALUE, self.tags)) == self.versions
        return list(map(len, self.mappings)) == self.lengths and all(map(operator.is_, self.values(), self.flat))

    def moved_namespaces(self) -> list[int]:
        """The namespaces whose names or watched values (or, with tags, anything) moved."""
        if self.tag_words is not None:
            return np.flatnonzero(self.tag_words.read() != self.tag_values).tolist()
        if self.tags is not None:
            return list(itertools.compress(itertools.count(), map(operator.ne, map(versions.VALUE, self.tags),
                                                                  self.versions)))
        lengths = list(map(len, self.mappings))
        if lengths == self.lengths:   # where the values differ, at C speed
            places = itertools.compress(itertools.count(), map(operator.is_not, self.values(), self.flat))
            return sorted({bisect.bisect_right(self.starts, p) - 1 for p in places})
        return [k for k, ns in enumerate(self.namespaces) if lengths[k] != self.lengths[k] or ns.moved()]

    def moved_functions(self) -> list[int]:
        """The functions whose code-holding cells moved."""
        try:
            moved = {self.cells[p][2] for p in itertools.compress(itertools.count(), map(
                operator.is_not, map(_CELL, self.cell_objects), self.cell_contents))}
        except ValueError:   # a cell emptied
            moved = {k for cell, contents, k in self.cells if _contents(cell) is not contents}
        return sorted(moved)


_SNAPSHOT: list[_Snapshot] = []
_DEPTH = [0]
#: the audit events CPython raises before it sets or deletes a function's code or defaults
AUDITED = frozenset({"object.__setattr__", "object.__delattr__"})
#: (function, attribute) → the value before the user's code first set it, while it runs
_SET: dict[tuple[int, str], tuple] = {}
_RESTORING: list[bool] = []


def audited(event: str, args: tuple) -> None:
    """Called by gradproof's audit hook for :data:`AUDITED` events: a library's function about to get new
    code or defaults while the user's code runs keeps its old ones aside, to be put back and reported."""
    if not _DEPTH[0] or _RESTORING or len(args) < 2 or type(args[0]) is not types.FunctionType \
            or args[1] not in FUNCTION_STATE:
        return
    function, name = args[0], args[1]
    known = _SNAPSHOT and _key(function) in _SNAPSHOT[0].function_ids   # not one made during the call
    if known and (_key(function), name) not in _SET:   # (``types.coroutine`` sets the code it decorates)
        _SET[_key(function), name] = (function, name, getattr(function, name))


def enter() -> list[str]:
    """Before a call of the user's code: at the outermost call, the snapshot is taken (the first time) or
    brought up to date with what changed since, outside the user's code. Within a check (:func:`begin`),
    a change since the last call is the user's, made between its calls (a finalizer, a method gradproof
    called on what the code returned: adversarial round 25): undone, and returned (the call is not made);
    empty when nothing changed."""
    if not _DEPTH[0]:
        if not _SNAPSHOT:
            _SNAPSHOT.append(_Snapshot())
        found = _guarded_review(_SNAPSHOT[0], undo=_CHECKS[0] > 0, code_only=True)
        if found:
            _forget()
            return found
    _DEPTH[0] += 1
    return []


#: how many checks are running (:func:`begin`, :func:`end`)
_CHECKS = [0]


def not_entered() -> None:
    """The call :func:`enter` counted as begun is not made after all (refused before it started)."""
    _DEPTH[0] = max(_DEPTH[0] - 1, 0)


def calls_running() -> bool:
    """Whether a call of the user's code is running (in this process)."""
    return _DEPTH[0] > 0



def begin() -> None:
    """A check starts: what changed before it is the caller's business (taken); from here to :func:`end`,
    every change is the user's code's."""
    if not _CHECKS[0]:
        ready()
    _CHECKS[0] += 1


def end() -> list[str]:
    """A check ends: at the outermost, what changed since the last call of the user's code (undone)."""
    _CHECKS[0] = max(_CHECKS[0] - 1, 0)
    if _CHECKS[0] or _DEPTH[0] or not _SNAPSHOT:
        return []
    found = _guarded_review(_SNAPSHOT[0], undo=True, code_only=True)
    if found:
        _forget()
    return found


def _guarded_review(snap: _Snapshot, undo: bool, code_only: bool = False) -> list[str]:
    """:func:`_review`, which runs no user code; should anything still break it off, that is a refusal, not
    a half-reviewed process taken for clean (adversarial round 25: a ``__format__`` raising)."""
    try:
        return _review(snap, undo, code_only)
    except Exception as error:   # noqa: BLE001  (whatever it is, the process is not known to be clean)
        return [f"broke off gradproof's review of the process ({type(error).__name__})"]


def ready() -> None:
    """Outside any call of the user's code: take the snapshot now, or bring it up to date (a check calls
    this before it starts its clock, so that the one-time cost is not taken from its time budget)."""
    if not _DEPTH[0]:
        if not _SNAPSHOT:
            _SNAPSHOT.append(_Snapshot())
        _review(_SNAPSHOT[0], undo=False)


def leave() -> list[str]:
    """After a call of the user's code: what it changed, in words ("replaced builtins.abs"), each change
    undone; empty if nothing was."""
    _DEPTH[0] = max(_DEPTH[0] - 1, 0)
    if not _SNAPSHOT:
        return []
    found = _guarded_review(_SNAPSHOT[0], undo=True)
    if found:
        _forget()
    return found if len(found) <= SHOWN else found[:SHOWN] + [f"and {len(found) - SHOWN} more"]


def _modules_moved(snap: _Snapshot) -> bool:
    """Whether ``sys.modules`` changed at all (its tag), or, without tags, a watched entry did."""
    if snap.modules_tag is not None:
        return snap.modules_tag.value != snap.modules_version or len(sys.modules) != snap.module_count
    return len(sys.modules) != snap.module_count or \
        not all(map(operator.is_, map(sys.modules.get, snap.modules), snap.modules.values()))


def _cells_moved(snap: _Snapshot) -> bool:
    if snap.cell_words is not None:   # an emptied cell holds NULL: moved, and looked at below
        return not np.array_equal(snap.cell_words.read(), snap.cell_pointers)
    try:
        return not all(map(operator.is_, map(_CELL, snap.cell_objects), snap.cell_contents))
    except ValueError:   # a cell emptied
        return True


def _review(snap: _Snapshot, undo: bool, code_only: bool = False) -> list[str]:
    """What changed since the snapshot, each change undone (``undo``) or taken into it; new modules and
    classes join it. The quick tests first, at C speed (identity and tags only: no user code runs)."""
    found = _review_set(undo)
    first, modules, cells = snap.module_count < 0, _modules_moved(snap), _cells_moved(snap)
    imports, classes = snap.imports.moved(), snap.classes.moved()
    if not first and snap.clean() and not modules and not cells and not imports and not classes:
        return found
    if classes:   # first: a class's metaclass decides what setting its names back does
        found += snap.classes.review(undo)
    if imports:
        found += snap.imports.review(undo)
    if modules:
        found += _review_modules(snap, undo)
    moved = snap.moved_namespaces()
    names = {k: snap.namespaces[k].names() for k in moved}
    found += _strange_names(snap, names, undo, modules)
    for k in moved:
        found += _review_moved(snap, snap.namespaces[k], undo, names[k][0], code_only)
    functions = snap.moved_functions() if cells else []
    for k in functions:
        found += _review_function(snap.functions[k], undo)
    _discover(snap)
    snap.settle(moved) if not functions else snap.lay_out()
    return found


def _strange_names(snap: _Snapshot, names: dict, undo: bool, modules: bool) -> list[str]:
    """Names that are not exactly strings, in ``sys.modules`` (where it moved) or a moved namespace
    (``names``: index → :meth:`_Namespace.names`): a lookup there could run their ``__eq__`` (a hash
    collision) inside the review. Dropped (``undo``) and named; before any lookup."""
    found = []
    if undo and modules and inert.split_names(sys.modules)[1]:
        inert.keep_only_names(sys.modules)
        found.append("added a name that is not a string to sys.modules")
    for k, (_, odd) in names.items():
        ns = snap.namespaces[k]
        if undo and odd:
            inert.keep_only_names(ns.behind if ns.behind is not None else ns.mapping)
            found.append(f"added a name that is not a string to {ns.label}")
    return found


def _review_moved(snap: _Snapshot, ns: _Namespace, undo: bool, now: dict, code_only: bool) -> list[str]:
    """One namespace whose tag moved: reviewed where a name or value changed (else a name was set and set
    back: gradproof's own ``os._exit``, ``sys.stdout``); a class's attribute cache is dropped either way, as
    a name added and removed behind the class's back leaves it answering with the added one (round 24)."""
    if isinstance(ns.owner, type) and undo:
        inert.forget_lookups(ns.owner)
    return _review_namespace(snap, ns, undo, now, code_only) if ns.moved(now) else []


def _review_modules(snap: _Snapshot, undo: bool) -> list[str]:
    """``sys.modules``' entries for watched modules: replaced or removed ones put back (``undo``)."""
    found, modules = [], inert.split_names(sys.modules)[0]
    for name, module in list(snap.modules.items()):
        now = modules.get(name)
        if now is module:
            continue
        if undo:
            sys.modules[name] = module
            found.append(f"{'removed' if now is None else 'replaced'} sys.modules[{name!r}]")
        elif now is None:
            del snap.modules[name]
        else:
            snap.modules[name] = now
    return found


def _review_namespace(snap: _Snapshot, ns: _Namespace, undo: bool, now: dict, code_only: bool = False) -> list[str]:
    """The watched names of one namespace that changed (``now``: its names, :meth:`_Namespace.names`), and
    new names that shadow something. ``code_only``: between the calls of a check, where gradproof's own
    code runs too and libraries set public constants lazily (``tempfile.tempdir``), only code is judged, and
    gradproof's own constants (it sets none lazily)."""
    kept = ns.kept
    moved = [k for k, v in kept.items() if now.get(k, _GONE) is not v]
    altered = [k for k in moved if (ns.watched(k, kept[k]) or ns.watched(k, now.get(k)))
               and not _same(kept[k], now.get(k, _GONE)) and not _shim(snap, now.get(k))
               and (not code_only or ns.own() or inert.is_code(kept[k]) or inert.is_code(now.get(k)))]
    added = [k for k in now.keys() - kept.keys() if _shadows(ns, k, now[k]) and not _shim(snap, now[k])]
    if undo:
        for key in altered:
            _put(ns, key, kept[key])
        for key in added:
            _put(ns, key, _GONE)
    ns.refresh(None if undo else now)
    _scan(snap, ns, [ns.kept[k] for k in now.keys() - kept.keys() | set(moved) if k in ns.kept])
    found = [f"{'deleted' if k not in now else 'replaced'} {ns.label}.{k}" for k in altered]
    return found + [f"added {ns.label}.{k}" for k in sorted(added)] if undo else []


def _shim(snap: _Snapshot, value) -> bool:
    """A function of an installed library first imported during the call: that library's own shim over
    the standard library's (torch's ``inspect.getfile``, typing_extensions' ``typing._check_generic``),
    made as the user's code imported it, not the user's code's own."""
    if type(value) is not types.FunctionType:
        return False
    name = inert.get(value.__globals__, "__name__")
    module = inert.get(sys.modules, name) if type(name) is str and name not in snap.all_modules else None
    where = inert.get(_MODULE_DICT(module), "__file__") if issubclass(type(module), types.ModuleType) else None
    if type(where) is not str or not os.path.isfile(where):   # a file of a library, on disk (round 25: a
        return False                                            # module made in memory named one)
    where = os.path.realpath(where)
    code_file = value.__code__.co_filename
    return where.startswith(_LIBRARIES) and type(code_file) is str and os.path.realpath(code_file) == where


#: where installed libraries and the standard library live
_LIBRARIES = tuple({os.path.join(os.path.realpath(path), "") for key, path in sysconfig.get_paths().items()
                    if key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _constant(value) -> bool:
    """A number, string, bytes or None, or a numpy scalar (``np.float64(1e-300)``): of a type of Python's or
    numpy's own (compared by value without running anyone else's code)."""
    kind = type(value)
    return _key(kind) in _CONSTANT_KEYS or _key(kind) in _NUMPY_SCALARS


#: numpy's scalar types (static types, alive for the process), by pointer
_NUMPY_SCALARS = frozenset(object.__hash__(np.dtype(code).type) for code in np.typecodes["All"] if code not in "OV")


def _same(a, b) -> bool:
    if a is b:
        return True
    return type(a) is type(b) and _constant(a) and bool(a == b or (a != a and b != b))


def _shadows(ns: _Namespace, name: str, value) -> bool:
    """A new name that changes what code finds: any code on a class (an override, a special method, a
    hook looked up by name), a module global over a builtin (not a submodule bound to its parent)."""
    if (ns.label.split(".")[0], name) in OWN or not inert.is_code(value):
        return False
    if isinstance(ns.owner, type):
        return True
    if issubclass(type(value), types.ModuleType) and inert.get(_MODULE_DICT(value), "__name__") == f"{ns.label}.{name}":
        return False
    return inert.get(vars(builtins), name, _GONE) is not _GONE and ns.label != "builtins"


def _put(ns: _Namespace, key: str, value) -> None:
    """Set (or delete, for ``_GONE``) one name, past any ``__setattr__`` of the class's metaclass; in a type
    Python does not let code change (``np.ndarray``: its dict was written behind its back), in the dict."""
    if isinstance(ns.owner, type) and _TYPE_FLAGS(ns.owner) & _IMMUTABLE:
        if value is _GONE:
            ns.behind.pop(key, None)
        else:
            ns.behind[key] = value
        inert.forget_lookups(ns.owner)
    elif isinstance(ns.owner, type):
        if value is _GONE:
            type.__delattr__(ns.owner, key)
        else:
            type.__setattr__(ns.owner, key, value)
    elif value is _GONE:
        ns.mapping.pop(key, None)
    else:
        ns.mapping[key] = value


def _review_function(function: _Function, undo: bool) -> list[str]:
    """A function whose code-holding closure cells changed."""
    changed = [k for k, cell, v in function.cells if _contents(cell) is not v]
    if not changed:
        return []
    if not undo:
        function.cells = _code_cells(function.function)
        return []
    for _, cell, contents in function.cells:
        cell.cell_contents = contents
    return [f"changed {function.label} in place ({', '.join(f'closure cell {k}' for k in changed)})"]


def _review_set(undo: bool) -> list[str]:
    """The library functions whose code or defaults the user's code set (audited as it did): put back."""
    found = []
    _RESTORING.append(True)
    try:
        for function, name, value in list(_SET.values()):
            if undo and getattr(function, name) is not value:
                setattr(function, name, value)
                found.append(f"changed {_label(function)} in place ({name})")
    finally:
        _RESTORING.clear()
        _SET.clear()
    return found


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _GONE


def _discover(snap: _Snapshot) -> None:
    """Modules loaded since the last look join the snapshot, as they are now (with their classes): a
    module first imported, or first put in ``sys.modules``, during a call is taken as it is (the standard
    library itself puts modules there that no import made: ``pyexpat.errors``)."""
    if len(sys.modules) == snap.module_count:
        return
    for name, module in list(sys.modules.items()):
        if type(name) is not str or name in snap.modules or name.split(".")[0] not in ROOTS:
            continue
        snap.modules[name] = module
        if issubclass(type(module), types.ModuleType):
            _add(snap, name, module, _MODULE_DICT(module))
            _add_instances(snap, name, module)
    snap.module_count, snap.all_modules = len(sys.modules), set(inert.split_names(sys.modules)[0])


def _add_instances(snap: _Snapshot, name: str, module) -> None:
    for attribute in INSTANCES.get(name, ()):
        value = inert.get(_MODULE_DICT(module), attribute)
        try:   # the instance's own dict, by ``object``'s lookup (a class swapped under it was put back)
            mapping = object.__getattribute__(value, "__dict__")
        except AttributeError:
            continue
        if type(mapping) is dict:
            _add(snap, f"{name}.{attribute}", value, mapping)


def _add(snap: _Snapshot, label: str, owner, mapping) -> None:
    """A module or class joins the snapshot, with the classes and closures found in it."""
    snap.known.add(_key(owner))
    ns = _Namespace(label, owner, mapping)
    ns.refresh()
    snap.namespaces.append(ns)
    _scan(snap, ns, list(ns.kept.values()))


def _scan(snap: _Snapshot, ns: _Namespace, values: list) -> None:
    """What ``values`` of a namespace lead to: classes (with their bases and metaclasses, but types Python
    cannot change), and Python functions whose closure cells hold code (a decorator's wrapped function: a
    cell can be set in place, unaudited), behind methods, properties, partials and numpy's dispatchers."""
    work = values
    while work:
        value = work.pop()
        kind = type(value)
        if kind is types.FunctionType:
            if _key(value) not in snap.function_ids:
                snap.function_ids.add(_key(value))
                cells = _code_cells(value)
                if cells:
                    snap.functions.append(_Function(_label(value), value, cells))
                    work += [contents for _, _, contents in cells]
        elif _TYPE_FLAGS(kind) & _TYPE_SUBCLASS:
            if _key(value) not in snap.known:
                _add_class(snap, value)
        elif kind is classmethod or kind is staticmethod:   # identity only: no metaclass's __eq__
            work.append(value.__func__)
        elif kind is property:
            work += [value.fget, value.fset, value.fdel]
        elif kind is functools.partial or kind is functools.partialmethod:
            work.append(value.func)
        elif kind is _LRU or (_DISPATCHER is not None and kind is _DISPATCHER):
            work.append(getattr(value, "_implementation", None) or getattr(value, "__wrapped__", None))


def _label(function: types.FunctionType) -> str:
    module, name = function.__module__, function.__qualname__
    return f"{module if type(module) is str else '?'}.{name if type(name) is str else '?'}"


def _add_class(snap: _Snapshot, cls: type) -> None:
    """A class and its bases and metaclasses join, types Python does not let code change too (their dict
    can still be written behind their back: adversarial round 24)."""
    for klass in itertools.chain(_TYPE_MRO(cls), _TYPE_MRO(type(cls))):
        if _key(klass) not in snap.known:
            mapping = _TYPE_DICT(klass)   # a static type's module is read from its C name, not its dict
            module = _TYPE_MODULE(klass) if _TYPE_FLAGS(klass) & _IMMUTABLE else inert.get(mapping, "__module__", "?")
            _add(snap, f"{module if type(module) is str else '?'}.{_TYPE_NAME(klass)}", klass, mapping)


def _code_cells(function: types.FunctionType) -> tuple:
    """(index, cell, contents) of the closure cells that hold code (a decorator's wrapped function)."""
    cells = function.__closure__ or ()
    return tuple((k, cell, _contents(cell)) for k, cell in enumerate(cells)
                 if _contents(cell) is not _GONE and inert.is_code(_contents(cell)))


def _forget() -> None:
    """Caches filled while the code was changed: sympy's, and gradproof's functools caches."""
    cache = sys.modules.get("sympy.core.cache")
    if cache is not None:
        cache.clear_cache()
    for ns in _SNAPSHOT[0].namespaces:
        if ns.label.startswith("gradproof"):
            for value in list(ns.kept.values()):
                if type(value) is _LRU:
                    value.cache_clear()
