"""Check your own backward pass.

The contract: ``backward(wbar, x, y) -> list of arrays``, where ``wbar[l]`` has shape
(n_{l+1}, n_l + 1) with the bias column first (n_l columns without biases), ``x`` has shape (n0,) and
``y`` shape (nL,); it returns ∂E/∂W̄[l] for the error E of that one sample, one array per layer, shaped
like ``wbar``. A batch is checked one sample at a time (the batch error is the mean of the samples', or
their sum), unless ``batched=True``: then ``x`` is (B, n0), ``y`` is (B, nL) and the function returns the
gradient of the batch's error itself.

Anything that breaks the contract (an exception, the wrong number of arrays or shapes, NaN/inf) is a
:class:`BackwardPassError` that says what was wrong, never a gradient mismatch.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.errors import BackwardPassError
from gradproof.numeric.samples import PrecisionWarning, random_sample
from gradproof.numeric.strategies.networks import networks

Backward = Callable[[list, np.ndarray, np.ndarray], list]


def user_gradient(backward: Backward, network: Network, batched: bool = False):
    """``backward`` as the ``gradient(wbar, x_columns, y_columns, reduction)`` a check takes, enforcing
    the contract on every call."""
    if not callable(backward):
        raise BackwardPassError(f"the backward pass must be a function backward(wbar, x, y), not "
                                f"{type(backward).__name__}")

    def gradient(wbar, x_columns, y_columns, reduction="mean"):
        if batched:
            return _call(backward, network, wbar, x_columns.T.copy(), y_columns.T.copy(), "the batch")
        total = None
        for b in range(x_columns.shape[1]):
            grads = _call(backward, network, wbar, x_columns[:, b].copy(), y_columns[:, b].copy(), f"sample {b}")
            total = grads if total is None else [t + g for t, g in zip(total, grads)]
        return [t / x_columns.shape[1] for t in total] if reduction == "mean" else total

    return gradient


def _call(backward, network: Network, wbar, x, y, which: str) -> list[np.ndarray]:
    copies = [np.array(w, dtype=np.float64) for w in wbar]
    try:
        returned = backward(copies, x, y)
    except Exception as error:  # the user's code: report it, whatever it is
        raise BackwardPassError(f"your backward pass raised {type(error).__name__}: {error} "
                                f"({_where(error)}; called on {which} as backward(wbar, x, y) with "
                                f"wbar shapes {list(network.shapes)}, x {x.shape}, y {y.shape})") from error
    return _validate(returned, network)


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if len(frames) < 2:
        return "in the call"
    frame = frames[-1]
    return f"at {Path(frame.filename).name}:{frame.lineno}"


def _validate(returned, network: Network) -> list[np.ndarray]:
    if not isinstance(returned, (list, tuple)):
        raise BackwardPassError(f"your backward pass returned {type(returned).__name__}, not a list of "
                                f"{network.depth} arrays (one ∂E/∂W̄[l] per layer)")
    if len(returned) != network.depth:
        raise BackwardPassError(f"your backward pass returned {len(returned)} arrays for {network.depth} "
                                f"weight layers: return one ∂E/∂W̄[l] per layer, shapes {list(network.shapes)}")
    grads = []
    for layer, (value, shape) in enumerate(zip(returned, network.shapes)):
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
            warnings.warn(f"∂E/∂W̄[{layer}] is {array.dtype}: its rounding is far above float64's, so a "
                          "correct gradient may fail the float64 tolerance; compute in float64",
                          PrecisionWarning, stacklevel=5)
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise BackwardPassError(f"∂E/∂W̄[{layer}] has a non-finite entry (NaN or inf) at {where}")
        grads.append(array)
    return grads


def _shape_hint(got, expected, bias: bool) -> str:
    if tuple(got) == tuple(expected)[::-1]:
        return ": it looks transposed (rows are the next layer's neurons, columns this layer's inputs); " \
               "was the outer product taken in the wrong order, X̄ ⊗ Ψ instead of Ψ ⊗ X̄?"
    if bias and tuple(got) == (expected[0], expected[1] - 1):
        return ": the bias column is missing (column 0 is ∂E/∂ˡw⁰ᵢ, the bias weights)"
    return ": rows are the next layer's neurons, columns this layer's inputs with the bias first"


def check_backward(backward: Backward, network: Network, sample=None, *, seed: int = 0, batch: int | None = None,
                   batched: bool = False, **options):
    """Check ``backward`` on ``sample`` (default: a random network from ``seed``), against the finite
    difference and, for small networks, the compiled ``sympy.diff`` form. ``options`` go to
    :func:`gradproof.numeric.checks.check.check_gradient` (``method``, ``step``, ``reduction``, ``tier``, …)."""
    drawn = sample is None
    if drawn:
        sample = random_sample(network, seed=seed, batch=batch)
    elif sample.network != network:
        raise InputError("the sample was drawn for another network: pass the same Network to both")
    return check_gradient(sample, user_gradient(backward, network, batched),
                          analytic_name=f"your backward pass {getattr(backward, '__name__', '')}".rstrip(),
                          seed=seed if drawn else None, **options)


def assert_backward_correct(backward: Backward, network: Network, sample=None, **options):
    """:func:`check_backward`, raising :class:`GradientMismatch` (an AssertionError, for pytest) with the
    table of failing weights and a diagnosis when the gradient is wrong; returns the result otherwise."""
    return check_backward(backward, network, sample, **options).raise_if_failed()


def assert_backward_correct_on_networks(backward_for: Callable[[Network], Backward], architecture, *,
                                        max_examples: int = 50, weight_bound: float = 2.0,
                                        max_batch: int | None = None, **options) -> None:
    """Check a backward pass on hypothesis-drawn networks; a failure is shrunk to the smallest network
    that shows it, and raised as its :class:`GradientMismatch`.

    ``backward_for(network)`` returns the backward pass for that network (return the same function when
    yours reads the sizes from ``wbar``); ``architecture`` is a Network or a strategy of them
    (:func:`gradproof.numeric.strategies.networks.architectures`). The finite difference is the reference here; pass
    ``direct=True`` to also compile ``sympy.diff`` for every drawn network (slower)."""
    options.setdefault("direct", False)

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(networks(architecture=architecture, weight_bound=weight_bound, max_batch=max_batch))
    def every_network(sample):
        assert_backward_correct(backward_for(sample.network), sample.network, sample, **options)

    every_network()
