"""Concrete networks: weight arrays, inputs and targets, validated; and random ones drawn from a seed.

Array conventions (the source text's): ``wbar[l]`` has shape (n_{l+1}, n_l + 1) with the bias column
first (n_l columns without biases); ``x`` is one sample of shape (n0,) or a batch of shape (B, n0);
``y`` is (nL,) or (B, nL).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network

#: weighted sums of ReLU units are kept at least this far from the kink by random_sample and the
#: hypothesis strategies, so finite differences (steps ≤ 4·h·max(1, |w|)·|x̄|) never cross it
KINK_MARGIN = 0.05
REPR_VALUES = 400   # a sample with more values than this is shown by its shapes (a repr is one readable line)


class PrecisionWarning(UserWarning):
    """Arrays that are not float64: checks convert them, and their tolerances assume float64."""


@dataclass(frozen=True, eq=False)
class Sample:
    """A network with concrete weights, input(s) and target(s), all float64, validated."""

    network: Network
    wbar: tuple[np.ndarray, ...]
    x: np.ndarray
    y: np.ndarray

    @property
    def batch(self) -> int | None:
        """The batch size, or None for a single sample."""
        return None if self.x.ndim == 1 else self.x.shape[0]

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y as (n, B) columns, one column per sample."""
        return np.atleast_2d(self.x).T, np.atleast_2d(self.y).T

    def __repr__(self) -> str:
        head = (f"Sample([{','.join(map(str, self.network.sizes))}] "
                f"{','.join(self.network.activation_names)} {self.network.loss.name}"
                f"{'' if self.network.bias else ' no-bias'}, batch={self.batch}, ")
        if sum(w.size for w in self.wbar) + self.x.size + self.y.size > REPR_VALUES:
            return head + f"wbar shapes {[w.shape for w in self.wbar]}, x {self.x.shape}, y {self.y.shape})"
        return head + (f"wbar={[np.round(w, 4).tolist() for w in self.wbar]}, x={np.round(self.x, 4).tolist()}, "
                       f"y={np.round(self.y, 4).tolist()})")


def make_sample(network: Network, wbar: Sequence, x, y) -> Sample:
    """Validate and convert: one clear error per problem (shape, count, dtype, NaN/inf)."""
    _require_numeric(network)
    wbar = list(wbar) if isinstance(wbar, (list, tuple)) else _not_a_list(wbar)
    if len(wbar) != network.depth:
        raise InputError(f"wbar has {len(wbar)} arrays for {network.depth} weight layers: give one "
                         f"W̄[l] per layer, shapes {list(network.shapes)}")
    arrays = tuple(_as_float64(w, f"wbar[{l}]", shape) for l, (w, shape) in enumerate(zip(wbar, network.shapes)))
    n0, nL = network.sizes[0], network.sizes[-1]
    x = _as_float64(x, "x", None)
    y = _as_float64(y, "y", None)
    if x.ndim not in (1, 2) or x.shape[-1] != n0:
        raise InputError(f"x has shape {x.shape}: give ({n0},) for one sample or (B, {n0}) for a batch")
    expected_y = (nL,) if x.ndim == 1 else (x.shape[0], nL)
    if y.shape != expected_y:
        raise InputError(f"y has shape {y.shape}, expected {expected_y} to match x {x.shape}")
    if x.ndim == 2 and x.shape[0] == 0:
        raise InputError("x is an empty batch: give at least one sample")
    _check_targets(network, np.atleast_2d(y))
    return Sample(network, arrays, x, y)


def _check_targets(network: Network, rows: np.ndarray) -> None:
    """Targets the loss is defined for: a probability vector per sample for softmax-ce (entries ≥ 0 that
    sum to 1 within rounding, n·ε: its Ψ collapses to a − y only then), [0, 1] for bce."""
    kind = network.loss.targets
    if kind == "probabilities":
        sums = rows.sum(axis=1)
        bad = np.nonzero((rows < 0).any(axis=1) | (np.abs(sums - 1) > rows.shape[1] * np.finfo(float).eps))[0]
        if bad.size:
            row = int(bad[0])
            raise InputError(f"y (softmax-ce) must be a probability vector: entries ≥ 0 that sum to 1, but row "
                             f"{row} has entries {np.round(rows[row], 6).tolist()} summing to {sums[row]:.17g}: "
                             "normalise it in float64 (y / y.sum())")
    elif kind == "unit-interval" and ((rows < 0) | (rows > 1)).any():
        row, col = (int(i) for i in np.argwhere((rows < 0) | (rows > 1))[0])
        raise InputError(f"y ({network.loss.name}) must lie in [0, 1], but row {row} has {rows[row, col]!r} "
                         f"at {col}")


def coarser(first, second) -> np.dtype:
    """The floating dtype of the two with the larger ε (float64 for anything that is not floating)."""
    first, second = (np.dtype(d) if np.issubdtype(d, np.floating) else np.dtype(np.float64) for d in (first, second))
    return first if np.finfo(first).eps >= np.finfo(second).eps else second


def precision_note(name: str, dtype, returned: bool = False) -> str:
    """One line for an array that is not float64: lower precision (float32, float16) or extended
    (longdouble). ``returned``: a gradient under test (its own rounding matters), else an input."""
    lower = np.finfo(dtype).eps > np.finfo(np.float64).eps
    if returned and lower:
        return (f"{name} {'are' if ', ' in name else 'is'} {dtype}: checked against tolerances for {dtype}'s "
                f"rounding (ε = {np.finfo(dtype).eps:.1e}, {np.finfo(dtype).eps / np.finfo(np.float64).eps:.0e} "
                "times float64's): compute in float64 for a sharper check")
    if returned:
        return (f"{name} {'are' if ', ' in name else 'is'} {dtype}: rounded to float64 (its extra digits are "
                "dropped; the tolerances are float64's)")
    if lower:
        return (f"{name} is {dtype}: converted to float64 (exactly); the check runs in float64, and a gradient "
                "computed in lower precision will not meet its tolerances")
    return f"{name} is {dtype}: rounded to float64 (its extra digits are dropped); the check is about those values"


def _not_a_list(wbar):
    raise InputError(f"wbar must be a list of arrays, one per weight layer, not {type(wbar).__name__}")


def _as_float64(value, name: str, shape) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not an array of numbers: {exc}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{name} has dtype {array.dtype}: give real numbers (float64)")
    if np.iscomplexobj(array):
        raise InputError(f"{name} is complex: give real numbers (float64)")
    if shape is not None and array.shape != tuple(shape):
        raise InputError(f"{name} has shape {array.shape}, expected {tuple(shape)} "
                         "(rows: next layer's neurons, columns: this layer's inputs, bias first)")
    if np.issubdtype(array.dtype, np.floating) and array.dtype != np.float64:
        warnings.warn(precision_note(name, array.dtype), PrecisionWarning, stacklevel=4)
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise InputError(f"{name} has a non-finite entry (NaN or inf) at index {tuple(int(i) for i in bad)}")
    return array


def random_sample(network: Network, seed: int = 0, batch: int | None = None) -> Sample:
    """A random network: weights uniform in ±2/√(fan-in), inputs in [−1, 1], targets as the loss needs.

    ReLU units are kept at least ``KINK_MARGIN`` from their kink where that can be arranged (by shifting
    the bias, or by redrawing, up to 100 times); otherwise the finite difference itself detects a step
    across a kink and says so.
    """
    _require_numeric(network)
    rng = np.random.default_rng(check_seed(seed))
    rows = 1 if batch is None else batch
    for _ in range(100):
        wbar = [rng.uniform(-1, 1, size=shape) * 2 / np.sqrt(shape[1]) for shape in network.shapes]
        x = rng.uniform(-1, 1, size=(rows, network.sizes[0]))
        y = random_targets(network, rng, rows)
        # a convolution shares its bias over every position, so no shift clears all its units: its check
        # marks the units within rounding of a kink instead (numeric/checks/conv_check.py)
        if network.has_conv or away_from_kinks(network, wbar, x.T):
            break
    if batch is None:
        x, y = x[0], y[0]
    return make_sample(network, wbar, x, y)


def check_seed(seed) -> int:
    """A seed numpy accepts: a whole number ≥ 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number ≥ 0, not {seed!r}")
    return int(seed)


def random_targets(network: Network, rng: np.random.Generator, rows: int) -> np.ndarray:
    n = network.sizes[-1]
    if network.loss.targets == "probabilities":
        y = rng.uniform(0.05, 1, size=(rows, n))
        return y / y.sum(axis=1, keepdims=True)
    if network.loss.targets == "unit-interval":
        return rng.uniform(0, 1, size=(rows, n))
    return rng.uniform(-1, 1, size=(rows, n))


def away_from_kinks(network: Network, wbar: list[np.ndarray], x_columns: np.ndarray,
                    margin: float = KINK_MARGIN) -> bool:
    """Shift bias weights in place so every kinked unit's |z − kink| ≥ margin for every sample, by the
    smallest shift that clears them all; False where a unit is too close and there is no bias."""
    values = x_columns
    for layer, act in enumerate(network.activations):
        xbar = _with_bias(values, network.bias)
        for kink in getattr(act, "kinks", ()):
            z = wbar[layer] @ xbar - kink
            for unit in np.nonzero((np.abs(z) < margin).any(axis=1))[0]:
                if not network.bias:
                    return False
                wbar[layer][unit, 0] += _smallest_clearing_shift(z[unit], margin)
        values = act.np_forward(wbar[layer] @ xbar)
    return True


def _smallest_clearing_shift(z: np.ndarray, margin: float) -> float:
    """The s of least |s| with no z + s inside (−margin, margin)."""
    candidates = sorted(np.concatenate([-margin - z, margin - z]), key=abs)
    for shift in candidates:
        if np.all(np.abs(z + shift) >= margin * (1 - 1e-12)):
            return float(shift + np.sign(shift) * margin * 1e-9)
    raise AssertionError("unreachable: shifting past every sample always clears them")


def _with_bias(columns: np.ndarray, bias: bool) -> np.ndarray:
    return np.vstack([np.ones((1, columns.shape[1])), columns]) if bias else columns


def _require_numeric(network: Network) -> None:
    for act in network.activations:
        if not act.has_numpy_form:
            raise InputError(f"the {act.name} activation is symbolic only: pick a concrete activation "
                             "(sigmoid, tanh, relu, softplus, identity) for numbers")
    if network.has_conv and network.layers[-1].kind == "conv":
        raise InputError("a convolution as the output layer is symbolic only (derive, prove): the numeric half "
                         "needs a dense output layer; end --layers with a dense width (e.g. …,conv2k3,4)")
