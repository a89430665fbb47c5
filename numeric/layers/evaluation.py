"""⟨dout, forward(v)⟩ through the user's code, real or complex, every call under the guard.

φ(v) = Σₖ ⟨doutₖ, outₖ(v)⟩ (for a loss or a plain function, the value itself) is the scalar whose
gradient a correct backward returns for the upstream gradients dout. Its evaluations run the user's
forward on fresh copies of the arguments; whatever it prints during a sweep is counted and kept aside
(the first call of a check shows it once). A complex evaluation that loses its imaginary part — a complex
value written into a float array (numpy's ComplexWarning), real outputs — raises :class:`Dropped`.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable

import numpy as np

from gradproof.derive.usercode import guard
from gradproof.derive.usercode.conventions import Layer
from gradproof.numeric.layers import precision

try:
    from numpy.exceptions import ComplexWarning
except ImportError:  # numpy < 1.25
    from numpy import ComplexWarning


class Dropped(Exception):
    """The user's forward cannot carry a complex step (it drops or refuses the imaginary part)."""


def contract(douts, outs) -> complex | float:
    """Σₖ ⟨doutₖ, outₖ⟩, summed in float64 (complex where the outputs are)."""
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow shows as inf: the bounds say so
        for d, o in zip(douts, outs):
            total = total + np.sum(np.asarray(d) * np.asarray(o))
    return total


def magnitude(douts, outs) -> float:
    """Σₖ ⟨|doutₖ|, |outₖ|⟩: the size of the terms φ sums (its rounding grows with it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(sum(np.sum(np.abs(np.asarray(d)) * np.abs(np.asarray(o))) for d, o in zip(douts, outs)))


class Evaluator:
    """Evaluations of φ for one layer and one set of upstream gradients, timed and counted; ``farthest`` is
    the real evaluation whose inputs moved most from ``origin`` (relative to max(1, |v|)), as (inputs, φ)."""

    def __init__(self, layer: Layer, douts, timeout: float | None, origin=None):
        self.layer, self.douts, self.timeout = layer, tuple(douts), timeout
        self.calls, self.seconds, self.printed = 0, 0.0, 0
        self.origin = None if origin is None else [np.array(v, dtype=float) for v in origin]
        self.farthest, self._distance = None, -1.0
        self.grid = precision.Grid()     # the grid every output seen is on (a forward rounding inside)

    @property
    def seconds_per_call(self) -> float:
        return self.seconds / max(self.calls, 1)

    def phi(self, values) -> float:
        value = float(np.real(contract(self.douts, self._outputs(values))))
        self._remember(values, value)
        return value

    def _remember(self, values, value: float) -> None:
        if self.origin is None:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            distance = sum(float(np.sum(((np.asarray(v, dtype=float) - o) / np.maximum(1.0, np.abs(o))) ** 2))
                           for v, o in zip(values, self.origin))
        if distance > self._distance:
            self._distance, self.farthest = distance, ([np.array(v, copy=True) for v in values], value)

    def phi_sized(self, values) -> tuple[float, float]:
        """φ at ``values`` and Σ|dout·out| there, the size of the terms its rounding grows with."""
        outs = self._outputs(values)
        return float(np.real(contract(self.douts, outs))), magnitude(self.douts, outs)

    def phi_complex(self, values) -> complex:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs = self._outputs(values)
        if any(issubclass(w.category, ComplexWarning) for w in caught):
            raise Dropped("it discards imaginary parts (numpy's ComplexWarning: a complex value written into a "
                          "float array made by np.zeros, float(), or astype(float))")
        if not any(np.iscomplexobj(o) for o in outs):
            raise Dropped("its outputs are real for complex inputs (a cast, .real, abs or a float buffer)")
        return complex(contract(self.douts, outs))

    def gradients(self, values):
        """(outputs, claimed gradients) at ``values``: one forward and one backward."""
        self.calls += 1
        return self.layer.gradients(values, self.douts)

    def sweep(self, work: Callable, what: str):
        """``work()`` (which calls :meth:`phi` and friends many times) under one guarded call, its prints
        counted and kept off the terminal."""
        sink = io.StringIO()

        def quietly():
            with contextlib.redirect_stdout(sink):
                return work()

        start = time.perf_counter()
        try:
            return guard.call(quietly, what=what, timeout=self.timeout).value
        finally:
            self.seconds += time.perf_counter() - start
            self.printed += sink.getvalue().count("\n")

    def _outputs(self, values):
        self.calls += 1
        outs = self.layer.outputs(values)
        self.grid.see(outs)
        return outs
