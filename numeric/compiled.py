"""The symbolic gradient forms compiled into numpy functions with ``sympy.lambdify`` (and cse).

``CompiledGradient(network, "direct")`` compiles every ∂E/∂w from ``sympy.diff``: the independent
witness for small networks. ``CompiledGradient(network, "psi")`` compiles the Ψ recurrence's entries.
Both take the W̄ arrays, x and y, evaluate one sample or a batch (each entry broadcasts over the
samples' columns) and return arrays shaped like W̄. Their generated source is ``.source``.

Per-weight compilation grows with the number of paths through the network; networks with more than
``DIRECT_FORM_LIMIT`` weights use the matrix form (:mod:`numeric.forms`) instead.
"""

from __future__ import annotations

import inspect
from functools import cached_property

import numpy as np
import sympy as sp

from derive.activations import LAMBDIFY_MODULES
from derive.errors import InputError
from derive.gradients import PSI, direct_gradients
from derive.network import Network
from derive.symbolic import SymbolicNetwork
from numeric.forms import reduce

#: largest network (in weights) compiled weight by weight by default: [3,5,5,3] (68 weights) takes a
#: few seconds, [4,8,8,4] (148) about 20 s of sympy.diff and lambdify
DIRECT_FORM_LIMIT = 100
FORMS = ("direct", "psi")


class CompiledGradient:
    """A gradient form compiled to numpy: ``f(wbar, x_columns, y_columns, reduction)``."""

    def __init__(self, network: Network, form: str = "direct", limit: int | None = DIRECT_FORM_LIMIT):
        if form not in FORMS:
            raise InputError(f"form must be one of {', '.join(FORMS)}, not {form!r}")
        for act in network.activations:
            if not act.has_numpy_form:
                raise InputError(f"the {act.name} activation has no numeric form: pick a concrete one")
        if limit is not None and network.n_weights > limit:
            raise InputError(f"{network.n_weights} weights is too many for the per-weight {form} form "
                             f"(limit {limit}): use the matrix form, or raise the limit")
        self.network, self.form = network, form

    @cached_property
    def _function(self):
        sym = SymbolicNetwork(self.network)
        matrices = direct_gradients(sym) if self.form == "direct" else PSI.gradients(sym)
        entries = [entry for matrix in matrices for entry in matrix]
        args = [[list(sym.wbar[l].row(r)) for r in range(sym.wbar[l].rows)] for l in range(len(sym.wbar))]
        return sp.lambdify([args, list(sym.x), list(sym.y)], entries, modules=LAMBDIFY_MODULES, cse=True)

    def compile(self) -> CompiledGradient:
        """Compile now (it happens on first use otherwise)."""
        self._function
        return self

    @property
    def source(self) -> str:
        """The generated Python source."""
        return inspect.getsource(self._function)

    def __call__(self, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                 reduction: str = "mean") -> list[np.ndarray]:
        samples = x_columns.shape[1]
        values = self._function([np.asarray(w) for w in wbar], list(x_columns), list(y_columns))
        flat = [reduce(np.broadcast_to(np.asarray(v, dtype=float), (samples,)), reduction) for v in values]
        grads, start = [], 0
        for rows, cols in self.network.shapes:
            grads.append(np.array(flat[start:start + rows * cols]).reshape(rows, cols))
            start += rows * cols
        return grads
