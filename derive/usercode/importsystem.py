"""What decides the module an import or an attribute of a module gives, kept around calls of user code.

:mod:`gradproof.derive.usercode.namespaces` keeps the watched modules' namespaces and ``sys.modules``;
two more ways to change what gradproof's code gets from a module leave both alone:

- **the finders**: a finder put *before* Python's own in ``sys.meta_path`` (or a path hook before the
  others in ``sys.path_hooks``) answers every later first-time import, sympy's imports inside its
  functions included. Finders and hooks appended after the existing ones are allowed (a library such as
  six registers one on import): they are asked only about what no other can load;
- **a module's class**: ``module.__class__ = Sub`` (a ModuleType subclass with ``__getattribute__``)
  answers every attribute of the module without touching its namespace.

:class:`Imports` keeps both, tells at C speed whether either moved, and puts them back.
"""

from __future__ import annotations

import operator
import sys
import types

import numpy as np

from gradproof.derive.usercode import versions

_LISTS = ("meta_path", "path_hooks")


class Imports:
    """The finders, the path hooks and the watched modules' classes, as they were."""

    def __init__(self):
        self.names: list[str] = []
        self.modules: list = []
        self.classes: list = []
        self.types = None      # the modules' type pointers, laid out for one read (None: to be laid out)
        self.keep_lists()

    def keep_lists(self) -> None:
        self.lists = {name: getattr(sys, name) for name in _LISTS}
        self.entries = {name: list(getattr(sys, name)) for name in _LISTS}

    def add(self, name: str, module: types.ModuleType) -> None:
        self.names.append(name)
        self.modules.append(module)
        self.classes.append(type(module))
        self.types = None

    def moved(self) -> bool:
        """Whether a finder or path hook went or came before the others, or a module's class changed."""
        return any(not self._kept(name) for name in _LISTS) or self._classes_moved()

    def _classes_moved(self) -> bool:
        """Whether a module's class changed: each module's type pointer read in one gather where
        :mod:`versions` can, else each ``type`` compared."""
        if versions.TAGS is None:
            return not all(map(operator.is_, map(type, self.modules), self.classes))
        if self.types is None:
            self.types = versions.Words(versions.addresses(self.modules) + np.uint64(versions.TYPE_OFFSET))
            self.type_pointers = versions.addresses(self.classes)
        return not np.array_equal(self.types.read(), self.type_pointers)

    def _kept(self, name: str) -> bool:
        now, before = getattr(sys, name), self.entries[name]
        return now is self.lists[name] and len(now) >= len(before) and all(map(operator.is_, now, before))

    def review(self, undo: bool) -> list[str]:
        """What moved, put back (``undo``) or taken as it is now."""
        lists = [name for name in _LISTS if not self._kept(name)]
        classes = [k for k, (module, cls) in enumerate(zip(self.modules, self.classes)) if type(module) is not cls]
        if not undo:
            self.keep_lists()
            self.classes, self.types = list(map(type, self.modules)), None
            return []
        for name in lists:   # the originals, then what came after the last of them (appended: allowed)
            entries, now = self.entries[name], list(getattr(sys, name))
            last = max((k for k, e in enumerate(now) if any(e is x for x in entries)), default=-1)
            self.lists[name][:] = entries + [e for e in now[last + 1:] if not any(e is x for x in entries)]
            setattr(sys, name, self.lists[name])
        for k in classes:
            self.modules[k].__class__ = self.classes[k]
        return [f"changed sys.{name} (a finder or hook before Python's own)" for name in lists] + \
            [f"changed the class of the module {self.names[k]}" for k in classes]
