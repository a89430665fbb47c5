"""The symbolic gradient forms compiled into numpy functions with ``sympy.lambdify`` (and cse).

``CompiledGradient(network, "direct")`` compiles every ∂E/∂w by the definition: the independent witness
for networks of up to ``DIRECT_LIMIT`` weights, through E's graph by the chain rule
(:mod:`gradproof.numeric.compiled.direct`; ``sympy.diff`` and ``lambdify`` where E holds something the
chain rule does not take). ``CompiledGradient(network, "psi")`` compiles the Ψ recurrence's entries.
Both take the W̄ arrays, x and y, evaluate one sample or a batch (each entry broadcasts over the
samples' columns) and return arrays shaped like W̄. Their generated source is ``.source``.

The Ψ form's per-weight compilation grows with the number of paths from the weights to the outputs (times the
outputs again for a softmax, whose quotients swell the direct form); networks over ``PATH_BUDGET``
(:func:`per_weight_cost`) use the matrix form (:mod:`gradproof.numeric.compiled.matrix`) instead. Measured here: [2,3,3,2]
(86) compiles in 0.5 s, [3,4,4,2] (178) in 0.8 s; [3,5,4,3] with a softmax (981) takes 7 s. A check gets its
forms through :func:`gradproof.numeric.compiled.per_weight.compiled`, which keeps their source on disk.
"""

from __future__ import annotations

import inspect
from functools import cached_property

import numpy as np
import sympy as sp

from gradproof.derive.symbolic.functions import LAMBDIFY_MODULES, numeric_printer
from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.recurrence import PSI, direct_gradients
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.numeric.compiled.per_weight import (DIRECT_LIMIT, FORMS, PATH_BUDGET, direct_feasible, evaluate,
                                                   per_weight_cost, per_weight_feasible)
from gradproof.numeric.compiled.direct import compile_direct
from gradproof.derive.symbolic.chain import Unsupported

__all__ = ["DIRECT_LIMIT", "FORMS", "PATH_BUDGET", "CompiledGradient", "direct_feasible", "per_weight_cost",
           "per_weight_feasible"]


class CompiledGradient:
    """A gradient form compiled to numpy: ``f(wbar, x_columns, y_columns, reduction)``."""

    def __init__(self, network: Network, form: str = "direct", limit: int | None = PATH_BUDGET):
        """``limit``: the Ψ form's budget of paths (the direct form's is ``DIRECT_LIMIT`` weights); None:
        compile whatever the size."""
        if form not in FORMS:
            raise InputError(f"form must be one of {', '.join(FORMS)}, not {form!r}")
        for act in network.activations:
            if not act.has_numpy_form:
                raise InputError(f"the {act.name} activation has no numeric form: pick a concrete one")
        if limit is not None and form == "direct" and not direct_feasible(network):
            raise InputError(f"{network.describe()} is too large for the per-weight direct form ("
                             f"{network.n_weights} weights, limit {DIRECT_LIMIT}): pass limit=None")
        if limit is not None and form == "psi" and per_weight_cost(network) > limit:
            raise InputError(f"{network.describe()} is too large for the per-weight {form} form (cost "
                             f"{per_weight_cost(network)} paths, limit {limit}): use the matrix form, or "
                             "pass limit=None")
        self.network, self.form = network, form

    @cached_property
    def _function(self):
        sym = SymbolicNetwork(self.network)
        if self.form == "direct":
            try:
                return compile_direct(sym)
            except Unsupported:
                pass
        matrices = direct_gradients(sym) if self.form == "direct" else PSI.gradients(sym)
        entries = [entry for matrix in matrices for entry in matrix]
        args = [[list(sym.wbar[l].row(r)) for r in range(sym.wbar[l].rows)] for l in range(len(sym.wbar))]
        return sp.lambdify([args, list(sym.x), list(sym.y)], entries, modules=LAMBDIFY_MODULES, cse=True,
                           printer=numeric_printer())

    def compile(self) -> CompiledGradient:
        """Compile now (it happens on first use otherwise)."""
        self._function
        return self

    @property
    def source(self) -> str:
        """The generated Python source."""
        return inspect.getsource(self._function)

    @property
    def function(self):
        """The generated function: f(wbar, x, y) → the entries, flat, each broadcast over the samples."""
        return self._function

    def __call__(self, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
                 reduction: str = "mean") -> list[np.ndarray]:
        return evaluate(self.network, self._function, wbar, x_columns, y_columns, reduction)
