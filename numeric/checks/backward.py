"""Check your own backward pass.

The contract: ``backward(wbar, x, y) -> list of arrays``, where ``wbar[l]`` has shape
(n_{l+1}, n_l + 1) with the bias column first (n_l columns without biases), ``x`` has shape (n0,) and
``y`` shape (nL,); it returns ∂E/∂W̄[l] for the error E of that one sample, one array per layer, shaped
like ``wbar``. A batch is checked one sample at a time (the batch error is the mean of the samples', or
their sum), unless ``batched=True``: then ``x`` is (B, n0), ``y`` is (B, nL) and the function returns the
gradient of the batch's error itself.

Anything that breaks the contract (an exception, ``sys.exit``, ``os._exit``, a call past its time limit, the
wrong number of arrays or shapes, NaN/inf) is a :class:`BackwardPassError` that says what was wrong, never a
gradient mismatch: every call runs under :func:`gradproof.derive.usercode.guard.call`, on copies of the
arrays (what it prints goes to stderr). A gradient returned in lower precision (float32) is held to that
precision's error bound (:func:`gradproof.numeric.checks.check.check_gradient`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.usercode import guard
from gradproof.derive.usercode.guard import DEFAULT_TIMEOUT, call
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.checks.contract import Backward, user_gradient
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.samples import random_sample
from gradproof.numeric.checks.repeatable import BATCHED_NEEDS_A_BATCH, twice
from gradproof.numeric.strategies.networks import networks

__all__ = ["Backward", "NetworksChecked", "UndecidedNetworksWarning", "assert_backward_correct",
           "assert_backward_correct_on_networks", "check_backward", "user_gradient"]


@guard.one_check
def check_backward(backward: Backward, network: Network, sample=None, *, seed: int = 0, batch: int | None = None,
                   batched: bool = False, timeout: float | None = DEFAULT_TIMEOUT, **options):
    """Check ``backward`` on ``sample`` (default: a random network from ``seed``), against the finite
    difference and, for small networks, the compiled ``sympy.diff`` form. ``timeout``: seconds one call
    of ``backward`` may take (None: no limit). ``options`` go to
    :func:`gradproof.numeric.checks.check.check_gradient` (``method``, ``step``, ``reduction``, ``tier``, …)."""
    if batched and ((batch or 1) if sample is None else (sample.batch or 1)) < 2:
        raise InputError(BATCHED_NEEDS_A_BATCH)
    drawn = sample is None
    if drawn:
        sample = random_sample(network, seed=seed, batch=batch)
    elif sample.network != network:
        raise InputError("the sample was drawn for another network: pass the same Network to both")
    gradient = user_gradient(twice(backward), network, batched, timeout)
    gradient.repeated = True  # each call already made twice (numeric.checks.repeatable)
    return check_gradient(sample, gradient,
                          analytic_name=f"your backward pass {getattr(backward, '__name__', '')}".rstrip(),
                          seed=seed if drawn else None, **options)


def assert_backward_correct(backward: Backward, network: Network, sample=None, **options):
    """:func:`check_backward`, raising :class:`GradientMismatch` (an AssertionError, for pytest) with the
    table of failing weights and a diagnosis when the gradient is wrong, and
    :class:`FiniteDifferenceUnreliable` when the check cannot decide; returns the result otherwise."""
    return check_backward(backward, network, sample, **options).raise_if_failed()


@dataclass(frozen=True)
class NetworksChecked:
    """What :func:`assert_backward_correct_on_networks` checked: networks that agreed, and drawn networks
    on which the check could not decide (redrawn, never counted as passes)."""

    agreed: int
    undecided: int
    reasons: tuple[str, ...] = ()


class UndecidedNetworksWarning(UserWarning):
    """Some drawn networks could not be decided and were redrawn."""


def assert_backward_correct_on_networks(backward_for: Callable[[Network], Backward], architecture, *,
                                        max_examples: int = 50, weight_bound: float = 2.0,
                                        max_batch: int | None = None, **options) -> NetworksChecked:
    """Check a backward pass on hypothesis-drawn networks; a failure is shrunk to the smallest network
    that shows it, and raised as its :class:`GradientMismatch`.

    ``backward_for(network)`` returns the backward pass for that network (return the same function when
    yours reads the sizes from ``wbar``); ``architecture`` is a Network or a strategy of them
    (:func:`gradproof.numeric.strategies.networks.architectures`). The finite difference is the reference here; pass
    ``direct=True`` to also compile ``sympy.diff`` for every drawn network (slower). A drawn network on
    which the check cannot decide (gradients below the finite difference's resolution, a step across a
    kink) is redrawn, never passed: the returned :class:`NetworksChecked` (and a warning) says how many."""
    options.setdefault("direct", False)
    agreed, undecided, reasons = [0], [0], []

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(networks(architecture=architecture, weight_bound=weight_bound, max_batch=max_batch))
    def every_network(sample):
        backward = call(backward_for, sample.network, what="backward_for(network)").value
        result = check_backward(backward, sample.network, sample, **options)
        if result.verdict == "cannot decide":
            undecided[0] += 1
            reasons.append(result.report().splitlines()[1])
            assume(False)
        result.raise_if_failed()
        agreed[0] += 1

    try:
        every_network()
    except Unsatisfiable:
        raise FiniteDifferenceUnreliable(
            f"none of the {undecided[0]} drawn networks could be decided (e.g. {reasons[0] if reasons else '—'}): "
            "draw larger weights or inputs, or use method='complex-step'") from None
    if undecided[0]:
        warnings.warn(f"{undecided[0]} drawn networks could not be decided and were redrawn "
                      f"({agreed[0]} agreed); e.g. {reasons[0]}", UndecidedNetworksWarning, stacklevel=2)
    return NetworksChecked(agreed[0], undecided[0], tuple(dict.fromkeys(reasons)))
