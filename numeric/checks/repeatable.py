"""Your backward pass must be a function of (wbar, x, y): each call is made twice and must give the same.

A check calls a backward pass once per sample, and with one sample only once. A backward that keeps state
between calls — a gradient buffer accumulated into and never reset, a call counter, a cache keyed by the
arrays' ids — can then return the right numbers to the check and wrong ones in training (the classic
"forgot to zero the gradients"), or errors that cancel over the batch's mean (+δ on one call, −δ on the
next). :func:`twice` calls it again on fresh copies of the same arguments, right after, and refuses
(a :class:`UserCodeError`, which the contract reports as a ``BackwardPassError``) when the two results are not identical: no verdict is given about a function
that does not have one value. Identical means bit for bit: the same code on the same float64 arrays in one
process rounds the same way; what does not (a random draw, a threaded reduction whose order varies) is not a
function of its arguments either.
"""

from __future__ import annotations

import numpy as np

from gradproof.derive.usercode.guard import UserCodeError


#: a batched backward pass on one sample: its mean, its sum and its first sample's gradient are one number
BATCHED_NEEDS_A_BATCH = ("--batched needs a batch of at least 2 samples (--batch B, batch= in Python): on one sample "
                         "the batch's mean, its sum and the first sample's gradient are the same numbers, so a wrong "
                         "reduction (a sum for a mean, one sample for all) could not fail")


def twice(backward):
    """``backward``, called twice per call on separate copies of its arguments; the first result is returned
    when the second is identical to it."""

    if not callable(backward):
        return backward  # the contract says what it is instead

    def called_twice(wbar, x, y):
        first = backward([np.array(w) for w in wbar], np.array(x), np.array(y))
        kept = _snapshot(first)   # before the second call: the code may return the same buffer again
        second = backward([np.array(w) for w in wbar], np.array(x), np.array(y))
        if kept is not None:
            _compare(kept, _snapshot(second))
        return first

    called_twice.__name__ = getattr(backward, "__name__", "backward")
    return called_twice


def same_again(gradient, *arguments) -> list:
    """``gradient(*arguments)`` (the ``gradient(wbar, x_columns, y_columns, reduction)`` a check takes, called on
    copies), called a second time on fresh copies: the first result, once the second is identical to it."""
    first = gradient(*_copies(arguments))
    kept = _snapshot(first)
    if kept is not None:
        _compare(kept, _snapshot(gradient(*_copies(arguments))), "the gradient under test")
    return first


def _copies(arguments):
    return [[np.array(a) for a in arg] if isinstance(arg, list) else np.array(arg) if isinstance(arg, np.ndarray)
            else arg for arg in arguments]


def _snapshot(value):
    """The returned arrays as float64 copies, or None where the value is not a list of numeric arrays (the
    contract's own check then says what it is)."""
    if not isinstance(value, (list, tuple)):
        return None
    try:
        arrays = [np.array(entry) for entry in value]
    except (TypeError, ValueError):
        return None
    if any(a.dtype.kind not in "biufc" for a in arrays):
        return None
    # complex kept complex (a cast to float64 would drop the imaginary parts, with numpy's warning, before the
    # contract refuses them); a longdouble beyond float64's range becomes inf, which the contract reports
    with np.errstate(over="ignore", invalid="ignore"):
        return [a.astype(np.complex128 if a.dtype.kind == "c" else np.float64) for a in arrays]


def _compare(first: list, second, what: str = "your backward pass") -> None:
    if second is None or len(second) != len(first) or any(a.shape != b.shape for a, b in zip(first, second)):
        raise UserCodeError(f"{what} returned arrays of other shapes when called again with the same "
                                "wbar, x and y: it keeps state between calls; a check needs a function of its arguments")
    for layer, (a, b) in enumerate(zip(first, second)):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not np.all(same):
            where = tuple(int(i) for i in np.argwhere(~same)[0])
            raise UserCodeError(
                f"{what} returned another ∂E/∂W̄[{layer}] when called again with the same wbar, x and y "
                f"(at {where}: {a[where]:.10e}, then {b[where]:.10e}): it keeps state between calls — a gradient "
                "buffer accumulated into and not reset to zero, a counter, a cache — or is random; a check needs a "
                "function of its arguments")
