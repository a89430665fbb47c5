"""What decides the module an import or an attribute of a module gives, kept around calls of user code.

:mod:`gradproof.derive.usercode.namespaces` keeps the watched modules' namespaces and ``sys.modules``;
one more way to change what gradproof's code gets from a module leaves both alone, **the finders**: a finder put *before* Python's own in ``sys.meta_path`` (or a path hook before the
  others in ``sys.path_hooks``) answers every later first-time import, sympy's imports inside its
  functions included. Finders and hooks appended after the existing ones are allowed (a library such as
  six registers one on import): they are asked only about what no other can load. (A module's class, ``module.__class__ = Sub``, is kept with every watched object's class:
:mod:`gradproof.derive.usercode.classwatch`.)

:class:`Imports` keeps the finders and hooks, tells at C speed whether they moved, and puts them back.
"""

from __future__ import annotations

import operator
import sys

_LISTS = ("meta_path", "path_hooks")


class Imports:
    """The finders and the path hooks, as they were."""

    def __init__(self):
        self.keep_lists()

    def keep_lists(self) -> None:
        self.lists = {name: getattr(sys, name) for name in _LISTS}
        self.entries = {name: list(getattr(sys, name)) for name in _LISTS}

    def moved(self) -> bool:
        """Whether a finder or path hook went or came before the others."""
        return any(not self._kept(name) for name in _LISTS)

    def _kept(self, name: str) -> bool:
        now, before = getattr(sys, name), self.entries[name]
        return now is self.lists[name] and len(now) >= len(before) and all(map(operator.is_, now, before))

    def review(self, undo: bool) -> list[str]:
        """What moved, put back (``undo``) or taken as it is now."""
        lists = [name for name in _LISTS if not self._kept(name)]
        if not undo:
            self.keep_lists()
            return []
        for name in lists:   # the originals, then what came after the last of them (appended: allowed)
            entries, now = self.entries[name], list(getattr(sys, name))
            last = max((k for k, e in enumerate(now) if any(e is x for x in entries)), default=-1)
            self.lists[name][:] = entries + [e for e in now[last + 1:] if not any(e is x for x in entries)]
            setattr(sys, name, self.lists[name])
        return [f"changed sys.{name} (a finder or hook before Python's own)" for name in lists]
