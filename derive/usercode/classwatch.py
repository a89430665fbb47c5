"""The class of each object the watch relies on, kept: ``obj.__class__ = Other`` leaves every namespace as
it was and changes what the object does (a watched class given another metaclass; sympy's ``S.Zero`` given
a subclass whose ``__eq__`` says yes to everything: adversarial round 24).

The objects: every watched class (its metaclass), and the objects whose namespace or identity the watch
keeps (sympy's singletons, mpmath's contexts). Their type pointers are read in one gather
(:class:`gradproof.derive.usercode.versions.Words`), or compared one by one where it cannot be read; a
class found swapped is put back through ``object``'s own descriptor and named.
"""

from __future__ import annotations

import operator

import numpy as np

from gradproof.derive.usercode import inert, versions


class Classes:
    """(label, object) pairs and each object's class as it was."""

    def __init__(self):
        self.labels: list[str] = []
        self.objects: list = []
        self.classes: list[type] = []
        self.words = None

    def lay_out(self, pairs: list[tuple[str, object]]) -> None:
        """Watch these objects' classes as they are now."""
        self.labels, self.objects = [p[0] for p in pairs], [p[1] for p in pairs]
        self.classes = list(map(type, self.objects))
        if versions.TAGS is not None:
            self.words = versions.Words(versions.addresses(self.objects) + np.uint64(versions.TYPE_OFFSET))
            self.pointers = versions.addresses(self.classes)

    def moved(self) -> bool:
        if self.words is not None:
            return not np.array_equal(self.words.read(), self.pointers)
        return not all(map(operator.is_, map(type, self.objects), self.classes))

    def review(self, undo: bool) -> list[str]:
        """The objects whose class changed: put back (``undo``) and named, else taken as they are."""
        changed = [k for k, (obj, cls) in enumerate(zip(self.objects, self.classes)) if type(obj) is not cls]
        if not undo:
            self.lay_out(list(zip(self.labels, self.objects)))
            return []
        for k in changed:
            inert.SET_CLASS(self.objects[k], self.classes[k])
        return [f"changed the class of {self.labels[k]}" for k in changed]
