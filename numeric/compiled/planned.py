"""The Ψ gradient's fast path: the step-by-step recurrence of
:class:`gradproof.numeric.compiled.matrix.MatrixRecurrence`, the same operations on the same numbers, on
buffers kept per (network, batch size).

Step by step, every call builds a :class:`~gradproof.numeric.compiled.matrix.Forward`, allocates each X̄[l]
to write its row of ones, and goes through each activation's methods and their checks; on a small network,
where a gradient takes tens of microseconds, that is a sixth of the time ([64,128,128,10], one sample:
48 µs step by step, 41 µs planned, measured interleaved; at 1.69M weights memory is the cost). A :class:`Plan`
instead keeps X̄[l] as buffers whose row of ones is written once and z[l] as buffers BLAS writes into;
writes a(z) straight into the X̄ above where the kernel can (``kernels.INTO``: sigmoid, tanh); and calls
each activation's numpy kernel and derivative rule as its methods would (:func:`activate`, :func:`vjp`: looked
up on every call, so an activation of yours, softmax or a patched rule is followed as step by step).

What it returns is never a buffer it writes again while anything holds it (:meth:`Plan.reusable`). It runs
only for float64 W̄ and x on dense layers with numpy forms, and only for :class:`MatrixRecurrence` itself: a
mistaken recurrence, which overrides a step, runs step by step. ``tests/test_planned.py`` checks that a plan
gives the step-by-step numbers bit for bit.
"""

from __future__ import annotations

import sys
import threading
import weakref

import numpy as np

from gradproof.derive.model.activations import Elementwise
from gradproof.derive.model.kernels import INTO
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.products import FLOAT64, outer_sum, product

#: plans kept per thread; a plan whose buffers are larger is not kept (allocating them costs little next to
#: products that large)
PLANS_KEPT, PLAN_BYTES = 8, 1 << 20
_LOCAL = threading.local()


def _count(kept: list, index: int) -> int:
    return sys.getrefcount(kept[index])


#: what :func:`_count` reads for an array nothing but its list refers to: measured the same way, not
#: assumed (what the interpreter itself holds during the call differs between Python versions); None where
#: the interpreter does not count references (then nothing handed out is ever written again)
ALONE = _count([np.empty(0)], 0) if hasattr(sys, "getrefcount") else None


def unreferenced(kept: list, index: int) -> bool:
    """Whether ``kept[index]`` is referred to by nothing but ``kept``: no name, list or view holds it (a view
    holds its base), and no weak reference."""
    return ALONE is not None and _count(kept, index) == ALONE and not weakref.getweakrefcount(kept[index])


#: the base activation's methods as imported: an activation whose class replaces one (or a patch does) is
#: called through its own
BASE_FORWARD, BASE_VJP = Elementwise.np_forward, Elementwise.np_vjp


def activate(act, z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """a(z) for real float64 z, as ``act.np_forward(z)`` computes it: written into ``out`` (and ``out``
    returned) where the kernel has a form that writes into a given array, else a fresh array."""
    if type(act).np_forward is not BASE_FORWARD:
        return act.np_forward(z)
    for kernel, into in INTO:
        if kernel is act.numpy:
            return into(z, out)
    return act.numpy(z)


def vjp(act, z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(∂a/∂z)ᵀ·g for real float64 z and a = a(z), as ``act.np_vjp(z, a, g)`` computes it: the base rule's
    branch for real arrays (g ⊙ a' read off a where the rule has that form), or the activation's own."""
    if type(act).np_vjp is not BASE_VJP:
        return act.np_vjp(z, a, g)
    of_output = act.np_derivative_of_output
    return g * of_output(a) if of_output is not None else g * act.np_derivative(z)


class Plan:
    """Buffers for one (network, batch size), float64, only read back within one :meth:`gradient` call."""

    def __init__(self, network: Network, batch: int):
        self.network, self.batch, self.bias = network, batch, int(network.bias)
        self.depth, self.shapes = network.depth, network.shapes
        self.xbar = [np.empty((n + 1, batch)) for n in network.sizes[:-1]] if self.bias else []
        for xbar in self.xbar:
            xbar[0] = 1.0
        self.z = [np.empty((n, batch)) for n in network.sizes[1:]]
        # where a(z[l]) goes: behind X̄[l+1]'s row of ones, or a buffer of its own
        self.a = [self.xbar[layer + 1][1:] if self.bias and layer + 1 < self.depth else np.empty((n, batch))
                  for layer, n in enumerate(network.sizes[1:])]
        self.nbytes = sum(a.nbytes for a in self.xbar + self.z + self.a)
        self.kept = [None] * self.depth  # the gradients last handed out (see :meth:`reusable`)
        self.busy = False  # within gradient(): a kernel of yours that asks for a gradient gets its own buffers

    @staticmethod
    def fits(network: Network) -> bool:
        """Dense layers only, each activation with its numpy forms."""
        return all(layer.kind == "dense" and layer.activation.has_numpy_form for layer in network.layers)

    def takes(self, wbar, x_columns: np.ndarray) -> bool:
        """float64 W̄ of this plan's shapes and x of its width (its batch size is the plan's key)."""
        if x_columns.shape[0] != self.network.sizes[0] or len(wbar) != self.depth:
            return False
        for w, shape in zip(wbar, self.shapes):
            if type(w) is not np.ndarray or w.dtype is not FLOAT64 or w.shape != shape:
                return False
        return True

    def reusable(self, layer: int) -> np.ndarray | None:
        """Last call's ∂E/∂W̄[layer] once the caller has let go of it, to be written again, else None. A fresh
        array costs page faults where the allocator hands back memory from the system (a 12 MB gradient:
        more than the arithmetic, and others in the process, torch for one, leave the allocator so); one
        nobody else holds is as good as fresh, and already mapped. One still held is never written."""
        kept = self.kept  # (the list: a name bound to the array itself would be one more reference)
        if kept[layer] is None or kept[layer].dtype is not FLOAT64 or not unreferenced(kept, layer):
            return None
        return kept[layer]

    def run_forward(self, wbar, x_columns: np.ndarray) -> tuple[list, list]:
        """Every X̄[l] (z[l] in its buffer) and every a(z[l])."""
        bias, depth, z, a = self.bias, self.depth, self.z, self.a
        xbar = list(self.xbar) if bias else [x_columns]
        if bias:
            xbar[0][1:] = x_columns
        outputs = []
        for layer, act in enumerate(self.network.activations):
            outputs.append(activate(act, product(wbar[layer], xbar[layer], out=z[layer]), a[layer]))
            if not bias:
                xbar.append(outputs[-1])
            elif layer + 1 < depth and outputs[-1] is not a[layer]:
                a[layer][...] = outputs[-1]
        return xbar, outputs

    def gradient(self, wbar, x_columns: np.ndarray, y_columns: np.ndarray, reduction: str) -> list[np.ndarray]:
        """:meth:`MatrixRecurrence.gradient`, for arrays this plan :meth:`takes`."""
        self.busy = True
        try:
            return self.backward(wbar, x_columns, y_columns, reduction, *self.run_forward(wbar, x_columns))
        finally:
            self.busy = False

    def backward(self, wbar, x_columns: np.ndarray, y_columns: np.ndarray, reduction: str, xbar: list,
                 outputs: list) -> list[np.ndarray]:
        """Ψ from the output down, and each ∂E/∂W̄[l] on the way."""
        acts, loss, a, z = self.network.activations, self.network.loss, outputs[-1], self.z
        if loss.collapses_with(acts[-1]):
            psi = a - y_columns
        else:
            psi = vjp(acts[-1], z[-1], a, loss.np_gradient(a, y_columns))
        scale = 1.0 / x_columns.shape[1] if reduction == "mean" else 1.0
        grads = [None] * self.depth
        for layer in range(self.depth - 1, -1, -1):
            # the mean's 1/B on Ψ, as step by step
            grads[layer] = self.kept[layer] = outer_sum(psi if scale == 1.0 else scale * psi, xbar[layer],
                                                        out=self.reusable(layer))
            if layer:
                back = product(wbar[layer].T, psi)[self.bias:]
                psi = vjp(acts[layer - 1], z[layer - 1], outputs[layer - 1], back)
        return grads


def planned(network: Network, wbar, x_columns) -> Plan | None:
    """This thread's plan for (network, batch size) if it takes these arrays, else None (they go step by
    step, and fail there as they would have)."""
    if type(x_columns) is not np.ndarray or x_columns.dtype is not FLOAT64 or x_columns.ndim != 2:
        return None
    state = _LOCAL.__dict__
    plan = state.get("last")
    if plan is None or plan.network is not network or plan.batch != x_columns.shape[1]:
        plan = switch_to(state, network, x_columns.shape[1])
    if plan is None or plan.busy or not plan.takes(wbar, x_columns):
        return None
    return plan


def switch_to(state: dict, network: Network, batch: int) -> Plan | None:
    """The kept plan for (network, batch), or a new one, kept if its buffers are small (``PLAN_BYTES``); a kept
    one becomes the latest, the only one that keeps the gradients it handed out (one network's worth of
    memory a thread). None where the network is not one a plan takes."""
    plans = state.setdefault("plans", {})
    plan = plans.get((id(network), batch))
    if plan is None or plan.network is not network:
        if not Plan.fits(network):
            return None
        plan = Plan(network, batch)
        if plan.nbytes <= PLAN_BYTES:
            if len(plans) >= PLANS_KEPT:
                del plans[next(iter(plans))]
            plans[(id(network), batch)] = plan
    if state.get("last") is not None:
        state["last"].kept = [None] * state["last"].depth
    state["last"] = plan if plan.nbytes <= PLAN_BYTES else None
    return plan
