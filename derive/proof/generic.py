"""Vectors and matrices of symbolic size, for instantiating the recurrence's own code at every width.

A :class:`GenericVector` of width n stands for (v₁, …, vₙ) by its entry at a symbolic index k (and, with a
bias, its entry 0); a :class:`GenericMatrix` of m rows and n columns by its entry (i, j) (and its column 0).
They answer exactly the operations the forms and the Ψ recurrence are written with (:mod:`gradproof.derive.
symbolic.vectors`: ``vmap``, ``vsum``, ``width``; and ``[:, 1:]``, ``.T``, ``*``), each as the definition of
that operation entry by entry: a product is Σₖ aᵢₖ·bₖⱼ over k = 1 … n, a slice shifts the columns, an outer
product multiplies entries. Anything else (iterating, ``len``, ``sympy.Matrix(…)``) raises, so code that
depends on a concrete width fails loudly instead of being proven for one width. The tests instantiate
these at concrete widths and compare with sympy's matrices.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

#: higher than sympy's matrices', so ``sympy_matrix * generic`` is answered here
PRIORITY = 100.0


def _index() -> sp.Dummy:
    return sp.Dummy("k", integer=True)


class _Generic:
    _op_priority = PRIORITY
    symbolic_width = True

    def __iter__(self):
        raise TypeError("a vector of symbolic width cannot be iterated: use vmap/vsum")

    def __len__(self):
        raise TypeError("a vector of symbolic width has no len(): use width()")


class GenericVector(_Generic):
    """(head; v₁ … vₙ): ``entry(k)`` for 1 ≤ k ≤ ``size``; ``head`` the entry 0 (a bias input) or None."""

    def __init__(self, size, entry: Callable, head=None, row: bool = False):
        self.size, self.entry, self.head, self.row = size, entry, head, row

    def __vmap__(self, f: Callable, *vectors) -> GenericVector:
        if any(not isinstance(v, GenericVector) or v.size != self.size or v.head is not None for v in vectors):
            raise TypeError("vmap over vectors of different widths (or one with a bias entry)")
        return GenericVector(self.size, lambda k: f(*(v.entry(k) for v in vectors)))

    def __vsum__(self):
        k = _index()
        return sp.Sum(self.entry(k), (k, 1, self.size)) + (self.head if self.head is not None else 0)

    def __width__(self):
        return self.size

    @property
    def T(self) -> GenericVector:  # noqa: N802 - sympy's name
        return GenericVector(self.size, self.entry, self.head, not self.row)

    def scaled(self, factor) -> GenericVector:
        head = None if self.head is None else factor * self.head
        return GenericVector(self.size, lambda k: factor * self.entry(k), head, self.row)

    def __mul__(self, other):
        if isinstance(other, GenericVector) and not self.row and other.row and self.head is None:
            head = None if other.head is None else (lambda i: self.entry(i) * other.head)
            return GenericMatrix(self.size, other.size, lambda i, j: self.entry(i) * other.entry(j), head)
        if isinstance(other, (sp.Expr, int)) and not isinstance(other, sp.MatrixBase):
            return self.scaled(other)
        raise TypeError(f"unsupported product of a generic vector and {type(other).__name__}")

    def __rmul__(self, other):
        if isinstance(other, (sp.Expr, int)) and not isinstance(other, sp.MatrixBase):
            return self.scaled(other)
        raise TypeError(f"unsupported product of {type(other).__name__} and a generic vector")

    def __truediv__(self, other):
        return self.scaled(1 / sp.sympify(other))

    def __neg__(self):
        return self.scaled(-1)


class GenericMatrix(_Generic):
    """``entry(i, j)`` for 1 ≤ i ≤ ``rows``, 1 ≤ j ≤ ``cols``; ``head(i)`` column 0 (the bias) or None."""

    def __init__(self, rows, cols, entry: Callable, head: Callable | None = None):
        self.rows, self.cols, self.entry, self.head = rows, cols, entry, head

    def __getitem__(self, key):
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)
                and isinstance(key[1], slice) and key[1].stop is None and key[1].step is None):
            raise TypeError(f"a matrix of symbolic size takes [:, 0:] or [:, 1:] only, not {key!r}")
        start = key[1].start or 0
        if start == 0:
            return self
        if start == 1 and self.head is not None:
            return GenericMatrix(self.rows, self.cols, self.entry)
        raise TypeError(f"[:, {start}:] of a matrix of symbolic size")

    @property
    def T(self) -> GenericMatrix:  # noqa: N802 - sympy's name
        if self.head is not None:
            raise TypeError("the transpose of a matrix with its bias column")
        return GenericMatrix(self.cols, self.rows, lambda i, j: self.entry(j, i))

    def __mul__(self, other):
        if isinstance(other, GenericVector) and not other.row:
            if other.size != self.cols or (other.head is None) != (self.head is None):
                raise TypeError("a product of generic objects of different widths")
            def entry(i):
                k = _index()
                product = sp.Sum(self.entry(i, k) * other.entry(k), (k, 1, self.cols))
                return product + (self.head(i) * other.head if self.head is not None else 0)
            return GenericVector(self.rows, entry)
        if isinstance(other, (sp.Expr, int)) and not isinstance(other, sp.MatrixBase):
            head = None if self.head is None else (lambda i: other * self.head(i))
            return GenericMatrix(self.rows, self.cols, lambda i, j: other * self.entry(i, j), head)
        raise TypeError(f"unsupported product of a generic matrix and {type(other).__name__}")

    def __rmul__(self, other):
        if isinstance(other, (sp.Expr, int)) and not isinstance(other, sp.MatrixBase):
            return self * other
        raise TypeError(f"unsupported product of {type(other).__name__} and a generic matrix")

    def __neg__(self):
        return self * -1
