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
"""

from __future__ import annotations

import ctypes
import gc
import operator
import sys
from collections.abc import Callable

#: the tag's offset in a dict object, in a release build: ob_refcnt, ob_type, ma_used, then the tag
OFFSET = 2 * ctypes.sizeof(ctypes.c_void_p) + ctypes.sizeof(ctypes.c_ssize_t)
VALUE = operator.attrgetter("value")


def tag_of(mapping):
    """A live view of the version tag of ``mapping`` (a dict, or a class's mappingproxy: its dict), read
    as ``.value``; where no dict can be found behind it, a tag that moves at every read (the namespace is
    then compared value by value every time). The caller keeps ``mapping`` alive as long as it reads."""
    if type(mapping) is not dict:
        found = [d for d in gc.get_referents(mapping) if issubclass(type(d), dict)]
        if len(found) != 1:
            return Moving()
        mapping = found[0]
    return ctypes.c_uint64.from_address(id(mapping) + OFFSET)


class Moving:
    """A tag that is never the same twice."""

    count = 0

    @property
    def value(self) -> int:
        Moving.count += 1
        return -Moving.count


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
        and _moves(vars(probe), lambda: delattr(probe, "x"))


def reader() -> Callable | None:
    """:func:`tag_of`, or None where the tags cannot be relied on here."""
    try:
        return tag_of if _checked() else None
    except (TypeError, ValueError, OverflowError):
        return None


TAGS = reader()
