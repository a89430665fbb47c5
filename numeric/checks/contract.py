"""The contract of your own backward pass, enforced on every call.

``backward(wbar, x, y) -> list of arrays``, where ``wbar[l]`` has shape (n_{l+1}, n_l + 1) with the bias
column first (n_l columns without biases), ``x`` has shape (n0,) and ``y`` shape (nL,); it returns
∂E/∂W̄[l] for the error E of that one sample, one array per layer, shaped like ``wbar`` (``batched``: x is
(B, n0), y is (B, nL), and it returns the gradient of the batch's error). :func:`user_gradient` makes it the
``gradient(wbar, x_columns, y_columns, reduction)`` a check takes; anything that breaks the contract is a
:class:`BackwardPassError` that says what was wrong (:mod:`gradproof.numeric.checks.backward` has the
checks built on it). Kept apart from them so that the command line's ``--backward`` loads no hypothesis.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.derive.usercode.guard import DEFAULT_TIMEOUT, UserCodeError, call
from gradproof.derive.usercode.isolation import NotAList, NotAnArray
from gradproof.numeric.errors import BackwardPassError
from gradproof.numeric.samples import PrecisionWarning, coarser, precision_note

Backward = Callable[[list, np.ndarray, np.ndarray], list]


def user_gradient(backward: Backward, network: Network, batched: bool = False,
                  timeout: float | None = DEFAULT_TIMEOUT):
    """``backward`` as the ``gradient(wbar, x_columns, y_columns, reduction)`` a check takes, enforcing
    the contract on every call; each call runs under :func:`gradproof.derive.usercode.guard.call`
    (exceptions, exits, prints and calls past ``timeout`` seconds become a :class:`BackwardPassError`)."""
    if not callable(backward):
        raise BackwardPassError(f"the backward pass must be a function backward(wbar, x, y), not "
                                f"{type(backward).__name__}")

    def gradient(wbar, x_columns, y_columns, reduction="mean"):
        if batched:
            return _call(backward, network, wbar, x_columns.T.copy(), y_columns.T.copy(), "the batch", timeout,
                         gradient)
        total = None
        for b in range(x_columns.shape[1]):
            grads = _call(backward, network, wbar, x_columns[:, b].copy(), y_columns[:, b].copy(), f"sample {b}",
                          timeout, gradient)
            total = grads if total is None else [t + g for t, g in zip(total, grads)]
        return [t / x_columns.shape[1] for t in total] if reduction == "mean" else total

    gradient.returned_dtype = np.dtype(np.float64)  # the coarsest precision it returned (see check_gradient)
    return gradient


def _call(backward, network: Network, wbar, x, y, which: str, timeout, gradient) -> list[np.ndarray]:
    copies = [np.array(w, dtype=np.float64) for w in wbar]
    try:
        returned = call(backward, copies, x, y, what="your backward pass", timeout=timeout).value
    except UserCodeError as error:
        context = (f"called on {which} as backward(wbar, x, y) with wbar shapes {list(network.shapes)}, "
                   f"x {x.shape}, y {y.shape}")
        text = str(error).rstrip()
        text = text[:-1] + f"; {context})" if text.endswith(")") else f"{text} ({context})"
        raise BackwardPassError(text) from None
    grads, dtype = _validate(returned, network)
    gradient.returned_dtype = coarser(gradient.returned_dtype, dtype)
    return grads


def _validate(returned, network: Network) -> tuple[list[np.ndarray], np.dtype]:
    """The returned arrays as float64, and the coarsest floating dtype they came in."""
    if not isinstance(returned, (list, tuple)):
        kind = returned.type_name if isinstance(returned, NotAList) else type(returned).__name__
        raise BackwardPassError(f"your backward pass returned {kind}, not a list of "
                                f"{network.depth} arrays (one ∂E/∂W̄[l] per layer)")
    if len(returned) != network.depth:
        raise BackwardPassError(f"your backward pass returned {len(returned)} arrays for {network.depth} "
                                f"weight layers: return one ∂E/∂W̄[l] per layer, shapes {list(network.shapes)}")
    grads, dtype, coarse = [], np.dtype(np.float64), []
    for layer, (value, shape) in enumerate(zip(returned, network.shapes)):
        if isinstance(value, NotAnArray):
            raise BackwardPassError(f"∂E/∂W̄[{layer}] is not an array of numbers: a {value.type_name} "
                                    f"({value.problem})")
        try:
            array = np.asarray(value)
        except Exception as error:  # noqa: BLE001 - anything numpy cannot read
            raise BackwardPassError(f"∂E/∂W̄[{layer}] is not an array: {error}") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) or np.iscomplexobj(array):
            raise BackwardPassError(f"∂E/∂W̄[{layer}] has dtype {array.dtype}: return real numbers (float64)")
        if array.shape != shape:
            raise BackwardPassError(f"∂E/∂W̄[{layer}] has shape {array.shape}, W̄[{layer}] has {shape}"
                                    + _shape_hint(array.shape, shape, network.bias))
        if np.issubdtype(array.dtype, np.floating) and array.dtype != np.float64:
            dtype = coarser(dtype, array.dtype)
            coarse.append((layer, array.dtype))
        with np.errstate(over="ignore", invalid="ignore"):  # a longdouble beyond float64's range: inf, said below
            array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise BackwardPassError(f"∂E/∂W̄[{layer}] has a non-finite entry (NaN or inf) at {where}")
        grads.append(array)
    if coarse:
        names = ", ".join(f"∂E/∂W̄[{layer}]" for layer, _ in coarse)
        warnings.warn(precision_note(names, coarse[0][1], returned=True), PrecisionWarning, stacklevel=5)
    return grads, dtype


def _shape_hint(got, expected, bias: bool) -> str:
    if tuple(got) == tuple(expected)[::-1]:
        return ": it looks transposed (rows are the next layer's neurons, columns this layer's inputs); " \
               "was the outer product taken in the wrong order, X̄ ⊗ Ψ instead of Ψ ⊗ X̄?"
    if bias and tuple(got) == (expected[0], expected[1] - 1):
        return ": the bias column is missing (column 0 is ∂E/∂ˡw⁰ᵢ, the bias weights)"
    return ": rows are the next layer's neurons, columns this layer's inputs with the bias first"
