"""The few vector operations the symbolic forms and the Ψ recurrence are written with.

On lists and sympy columns they are what they look like (a comprehension, a sum, ``len``, a column
matrix, a product of entries). An object that stands for a vector of symbolic length (the general
proof's, see :mod:`gradproof.derive.proof.generic`) answers them itself (it has ``symbolic_width = True``
and ``__vmap__``, ``__vsum__``, ``__width__``), so the same code, unchanged, is instantiated at symbolic
widths: the general proof is about this code, not about a copy of its formulas.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp


def _is_generic(value) -> bool:
    return getattr(value, "symbolic_width", False) is True


def _generic(vectors):
    return next((v for v in vectors if _is_generic(v)), None)


def vmap(f: Callable, *vectors):
    """[f(a₁, b₁, …), f(a₂, b₂, …), …]: ``f`` applied entry by entry."""
    generic = _generic(vectors)
    if generic is not None:
        return generic.__vmap__(f, *vectors)
    return [f(*entries) for entries in zip(*vectors, strict=True)]


def vsum(vector) -> sp.Expr:
    """The sum of the entries."""
    if _is_generic(vector):
        return vector.__vsum__()
    return sp.Add(*vector)


def width(vector):
    """The number of entries (a symbol for a vector of symbolic length)."""
    if _is_generic(vector):
        return vector.__width__()
    return len(vector)


def column(vector):
    """The entries as a column matrix."""
    if _is_generic(vector):
        return vector
    return sp.ImmutableMatrix(list(vector))


def outer(column_vector, row_source):
    """column_vector ⊗ row_source: the matrix of products (rows from the first, columns from the second)."""
    if _is_generic(column_vector) or _is_generic(row_source):
        return column_vector * row_source.T
    rows, cols = list(column_vector), list(row_source)
    return sp.ImmutableMatrix(len(rows), len(cols), [r * c for r in rows for c in cols])
