"""Whether a dict changed, in one read: CPython's version tag of a dict (PEP 509).

CPython 3.11 to 3.13 keep in every dict a 64-bit ``ma_version_tag`` that takes a new, larger value from
one process-wide counter whenever the dict is modified (an item set to another value, added, deleted,
cleared); it is never set back. :mod:`gradproof.derive.usercode.namespaces` reads it for each module's
and class's ``__dict__`` to tell, after each call of the user's code, which namespaces could have changed
at all (about a tenth of a millisecond for a few thousand namespaces, where comparing every value takes
milliseconds), and compares values only in those.

The tag is not part of Python's API: it is read with ``ctypes`` at its offset in the C struct
(``PyObject_HEAD``, ``ma_used``, ``ma_version_tag``), and :func:`reader` first checks on fresh dicts that
the word before it is the dict's length and that the tag moves on every kind of modification. Where the
check fails (another Python, a debug or free-threaded build, a version without the tag) there is no
reader, and the namespaces are compared value by value instead. Nothing is ever written.

Read one by one, a few thousand tags take 0.14 ms, and the watch reads them twice around every call of
the user's code (a finite-difference sweep makes hundreds of calls). :class:`Words` reads many words at
once, in one numpy gather (a few microseconds): the tags, and, checked the same way, the pointer in each
watched closure cell and each watched module's type.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import operator
import sys
from collections.abc import Callable

import numpy as np

#: the tag's offset in a dict object, in a release build: ob_refcnt, ob_type, ma_used, then the tag
OFFSET = 2 * ctypes.sizeof(ctypes.c_void_p) + ctypes.sizeof(ctypes.c_ssize_t)
#: an object's type pointer follows its reference count; a cell's contents pointer follows both
TYPE_OFFSET, CELL_OFFSET = ctypes.sizeof(ctypes.c_ssize_t), 2 * ctypes.sizeof(ctypes.c_void_p)
VALUE = operator.attrgetter("value")
WORD = ctypes.sizeof(ctypes.c_uint64)


def dict_behind(mapping) -> dict | None:
    """``mapping`` itself (a dict), or the one dict behind a class's mappingproxy; None where none is found."""
    if type(mapping) is dict:
        return mapping
    found = [d for d in gc.get_referents(mapping) if issubclass(type(d), dict)]
    return found[0] if len(found) == 1 else None


def tag_of(mapping):
    """A live view of the version tag of ``mapping`` (a dict, or a class's mappingproxy: its dict), read
    as ``.value``; where no dict can be found behind it, a tag that moves at every read (the namespace is
    then compared value by value every time). The caller keeps ``mapping`` alive as long as it reads."""
    found = dict_behind(mapping)
    return Moving() if found is None else ctypes.c_uint64.from_address(id(found) + OFFSET)


def addresses(objects: list) -> np.ndarray:
    """Each object's address (unsigned): ``object.__hash__`` is the pointer rotated right by four bits
    (:func:`_checked` shows it), and, unlike ``id``, raises no audit event (the watch's audit hook would
    run for every object)."""
    hashed = np.fromiter(map(object.__hash__, objects), dtype=np.int64, count=len(objects)).view(np.uint64)
    return (hashed << np.uint64(4)) | (hashed >> np.uint64(60))


class Words:
    """The machine words at ``places`` (addresses inside live objects the caller keeps alive), read
    together: a numpy view over the span they lie in, of which only those words are ever read, and one
    gather. Reads nothing where ``places`` is empty."""

    def __init__(self, places: np.ndarray):
        self.count = len(places)
        if not self.count:
            return
        base = int(places.min())
        offsets = places - np.uint64(base)
        if (offsets % WORD).any():
            raise ValueError("a place not on a word boundary")
        span = (ctypes.c_uint64 * (int(offsets.max()) // WORD + 1)).from_address(base)
        self.view, self.index = np.frombuffer(span, dtype=np.uint64), (offsets // WORD).astype(np.intp)

    def read(self) -> np.ndarray:
        return self.view.take(self.index) if self.count else np.zeros(0, dtype=np.uint64)


class Moving:
    """A tag that is never the same twice (its count is not rebound in any namespace the watch reads:
    a counter held in a class attribute would itself be reported as a change)."""

    _ticks = itertools.count(1)

    @property
    def value(self) -> int:
        return -next(Moving._ticks)


def _moves(mapping: dict, write: Callable[[], None]) -> bool:
    tag = tag_of(mapping)
    before = tag.value
    write()
    return tag.value > before


def _checked() -> bool:
    """The layout and the behaviour this module relies on, shown on fresh dicts and a fresh class."""
    if sys.implementation.name != "cpython" or getattr(sys, "_is_gil_enabled", lambda: True)() is False:
        return False
    for n in (0, 1, 7, 40):
        d = dict.fromkeys(range(n))
        if ctypes.c_ssize_t.from_address(id(d) + OFFSET - ctypes.sizeof(ctypes.c_ssize_t)).value != n:
            return False
    d = {"a": 1}
    probe = type("Probe", (), {"x": 1})
    steps = (lambda: d.__setitem__("a", 2), lambda: d.__setitem__("b", 3), lambda: d.__delitem__("a"),
             lambda: d.update(c=4), lambda: d.pop("c"), lambda: d.setdefault("e", 5), lambda: d.clear())
    return all(_moves(d, step) for step in steps) and _moves(vars(probe), lambda: setattr(probe, "x", 2)) \
        and _moves(vars(probe), lambda: delattr(probe, "x")) and _pointers_where_expected()


def _pointers_where_expected() -> bool:
    """:func:`addresses` gives ``id``; a cell holds its contents' pointer and an object its type's where
    :class:`Words` is told to look; a tag read in a gather is the tag read alone."""
    contents, d = object(), {"x": 1}
    cell = (lambda: contents).__closure__[0]
    probes = [contents, cell, d, probe_module := type(sys)("probe")]
    if addresses(probes).tolist() != [id(p) for p in probes]:
        return False
    words = Words(np.array([id(cell) + CELL_OFFSET, id(probe_module) + TYPE_OFFSET, id(d) + OFFSET],
                           dtype=np.uint64)).read().tolist()
    return words == [id(contents), id(type(probe_module)), ctypes.c_uint64.from_address(id(d) + OFFSET).value]


def reader() -> Callable | None:
    """:func:`tag_of`, or None where the tags cannot be relied on here."""
    try:
        return tag_of if _checked() else None
    except (TypeError, ValueError, OverflowError):
        return None


TAGS = reader()
