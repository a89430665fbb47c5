"""Plots (matplotlib, the optional ``plot`` extra): every function takes an ``ax`` and returns it.

- :func:`error_vs_step`: the finite difference's error against its step, one curve per method: the
  classic V, truncation on the right, rounding on the left (flat for the complex step), the default
  step of each method marked.
- :func:`cost`: the time to get every ∂E/∂w by the source text's definition (a forward pass per weight)
  and by the Ψ recurrence (one forward and one backward pass), on a network's shape scaled up: measured
  where the run fits a time budget (every forward pass run and timed), estimated from timed passes
  beyond it (drawn hollow), and each fit extrapolated (dotted) to the source text's 1,685,667-weight
  Atari network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.differences.finite_difference import METHODS, default_step, finite_difference
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.compiled.matrix import error, psi_gradient
from gradproof.numeric.samples import Sample, random_sample

ATARI_WEIGHTS = 1_685_667
COLOURS = {"forward": "tab:red", "central": "tab:blue", "richardson": "tab:green", "complex-step": "tab:purple"}


def _axes(ax):
    if ax is not None:
        return ax
    try:
        from matplotlib import pyplot as plt
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'gradproof[plot]'") from None
    return plt.subplots(figsize=(7, 4.5))[1]


def step_errors(sample: Sample, method: str, steps) -> np.ndarray:
    """For each step: the largest |finite difference − Ψ gradient| over the weights, relative to the
    largest |∂E/∂w|; NaN where the finite difference cannot decide (a step across a ReLU kink)."""
    x, y = sample.columns()
    exact = psi_gradient(sample.network, sample.wbar, x, y)
    scale = max(float(np.max(np.abs(g))) for g in exact)
    if not scale > 0:
        raise InputError(f"every ∂E/∂w of {sample.network.describe()} is 0 at this seed (E does not depend on the "
                         "weights here: a one-output softmax, a constant activation, dead units): there is no "
                         "relative error to plot; try another network or --seed")
    out = []
    for h in steps:
        try:
            fd = finite_difference(sample.network, sample.wbar, x, y, method, step=h)
        except FiniteDifferenceUnreliable:
            out.append(np.nan)
            continue
        kinks = fd.kinks if fd.kinks is not None else [np.zeros(f.shape, dtype=bool) for f in fd.values]
        errors = [np.abs(f - g)[~k] for f, g, k in zip(fd.values, exact, kinks)]  # steps across a kink: no value
        out.append(max((float(np.max(e)) for e in errors if e.size), default=np.nan) / scale)
    return np.maximum(np.array(out), np.finfo(float).eps / 8)  # exact zeros still show on a log axis


def error_vs_step(sample: Sample, *, methods=METHODS, steps=None, ax=None):
    """The error of each finite-difference method against its step, for ``sample``'s network; steps
    whose finite difference cannot decide (across a kink) are left out and the legend says how many."""
    ax = _axes(ax)
    for method in methods:
        colour = COLOURS.get(method)
        if steps is not None:
            grid = np.asarray(steps, dtype=float)
        else:  # below ε a real step does not move w at all; the complex step has no such floor
            grid = np.logspace(-21 if method == "complex-step" else -15, -1, 41)
        style = "--" if method == "complex-step" else "-"
        errors = step_errors(sample, method, grid)
        skipped = int(np.sum(np.isnan(errors)))
        label = method + (f" ({skipped} of {len(grid)} steps cross a kink: left out)" if skipped else "")
        ax.loglog(grid, errors, style, color=colour, label=label, lw=1.4)
        default = default_step(method)
        at_default = step_errors(sample, method, [default])[0]
        if np.isfinite(at_default):
            ax.loglog([default], [at_default], "o", color=colour, ms=7, mec="black")
    ax.plot([], [], "o", color="white", mec="black", label="default step")
    ax.set_xlabel("step h (relative to max(1, |w|); absolute for the complex step)")
    ax.set_ylabel("largest |finite difference − Ψ| / largest |∂E/∂w|")
    ax.set_title(f"Finite-difference error, [{','.join(map(str, sample.network.sizes))}] "
                 f"{','.join(dict.fromkeys(sample.network.activation_names))}, {sample.network.loss.name}",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def _seconds(run, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


@dataclass(frozen=True)
class Cost:
    """The cost of every gradient of one network, one sample."""

    sizes: tuple[int, ...]
    weights: int
    psi_seconds: float          #: the Ψ recurrence, measured (best of 3)
    definition_seconds: float   #: a forward pass per weight: measured, or estimated (see ``timed_passes``)
    timed_passes: int           #: how many of the ``weights`` forward passes were timed

    @property
    def measured(self) -> bool:
        """Whether every forward pass of the definition was run and timed (not estimated)."""
        return self.timed_passes == self.weights


def _passes(network, wbar, x, y, count: int) -> None:
    """``count`` forward passes, each with one weight moved (cycling through the weights)."""
    moved = [w.copy() for w in wbar]
    sizes = [w.size for w in moved]
    total = sum(sizes)
    for k in range(count):
        flat, layer = k % total, 0
        while flat >= sizes[layer]:
            flat, layer = flat - sizes[layer], layer + 1
        row, col = np.unravel_index(flat, moved[layer].shape)
        moved[layer][row, col] += 1e-8
        error(network, moved, x, y)
        moved[layer][row, col] -= 1e-8


def measure_cost(network: Network, seed: int = 0, budget: float = 3.0, sample_passes: int = 64) -> Cost:
    """Time the Ψ recurrence (best of 3) and the definition: every one of the W forward passes where
    ``sample_passes`` of them say that fits in ``budget`` seconds, else only those, scaled by W."""
    sample = random_sample(network, seed=seed)
    x, y = sample.columns()
    psi = _seconds(lambda: psi_gradient(network, sample.wbar, x, y))
    count = min(sample_passes, network.n_weights)
    per_pass = _seconds(lambda: _passes(network, sample.wbar, x, y, count), repeats=1) / count
    if per_pass * network.n_weights <= budget:
        definition, timed = _seconds(lambda: _passes(network, sample.wbar, x, y, network.n_weights), 1), network.n_weights
    else:
        definition, timed = per_pass * network.n_weights, count
    return Cost(tuple(network.sizes), network.n_weights, psi, definition, timed)


def family(network: Network, largest: int = ATARI_WEIGHTS * 2 // 3) -> list[Network]:
    """``network`` with its input and hidden widths scaled by 1, 2, 4, … while the weights stay below
    ``largest`` (so every measured network sits left of the Atari line); the output width, the
    activations, the loss and the bias are kept."""
    found, scale = [network], 2
    while scale <= 4096:
        sizes = [n * scale for n in network.sizes[:-1]] + [network.sizes[-1]]
        scaled = Network.from_spec(sizes, list(network.activations), network.loss, bias=network.bias)
        if scaled.n_weights > largest:
            break
        found.append(scaled)
        scale *= 2
    return found


def cost_fit(weights, seconds, powers) -> tuple[dict[int, float], float]:
    """seconds ≈ Σ c_p·W^p over ``powers`` with every c_p ≥ 0, fitted for the smallest relative error
    (least squares on seconds/fit − 1), and the largest factor by which the fit misses a point. The
    model is the cost's own: the Ψ recurrence a fixed overhead plus work ∝ W (powers 0, 1); the definition
    W forward passes, each an overhead plus work ∝ W (powers 1, 2)."""
    w, t = np.asarray(weights, dtype=float), np.asarray(seconds, dtype=float)
    kept = list(powers)
    while True:
        basis = np.stack([w ** p / t for p in kept], axis=1)
        coefficients = np.linalg.lstsq(basis, np.ones_like(t), rcond=None)[0]
        if (coefficients >= 0).all() or len(kept) == 1:
            break
        kept.pop(int(np.argmin(coefficients)))  # a negative term means no such term: refit without it
    fit = dict(zip(kept, np.maximum(coefficients, 0.0)))
    predicted = sum(c * w ** p for p, c in fit.items())
    return fit, float(np.max(np.maximum(predicted / t, t / predicted)))


def _evaluate(fit: dict[int, float], w):
    return sum(c * np.asarray(w, dtype=float) ** p for p, c in fit.items())


def _formula(fit: dict[int, float]) -> str:
    terms = {0: "{c:.2g} s", 1: "{c:.2g}·W", 2: "{c:.2g}·W²"}
    return " + ".join(terms[p].format(c=c) for p, c in sorted(fit.items()) if c > 0)


def cost(network: Network | None = None, *, costs: list[Cost] | None = None, ax=None):
    """Seconds to get every gradient of one sample, by the definition and by the Ψ recurrence, for
    networks shaped like ``network`` (default: the source text's) and scaled up: measured points filled, estimated ones hollow, each
    series' power-law fit drawn over the points it was fitted to, dotted where it is extrapolated to the
    source text's 1,685,667-weight Atari network."""
    ax = _axes(ax)
    network = network or Network.source_text()
    start = time.perf_counter()
    costs = costs if costs is not None else [measure_cost(n) for n in family(network)]
    seconds = time.perf_counter() - start
    weights = np.array([c.weights for c in costs], dtype=float)
    _series(ax, weights, np.array([c.psi_seconds for c in costs]), np.ones(len(costs), bool),
            "the Ψ recurrence (one forward and one backward pass)", "tab:blue", "o", (0, 1))
    measured = np.array([c.measured for c in costs])
    _series(ax, weights, np.array([c.definition_seconds for c in costs]), measured,
            "the definition (a forward pass per weight)", "tab:red", "s", (1, 2), below=True)
    if not measured.all():
        passes = min(c.timed_passes for c in costs if not c.measured)
        ax.plot([], [], "s", mfc="none", color="tab:red",
                label=f"estimated: {passes} passes timed, × W (too long to run)")
    ax.axvline(ATARI_WEIGHTS, color="gray", lw=0.8, ls=":")
    ax.text(ATARI_WEIGHTS, ax.get_ylim()[0], " Atari network\n 1,685,667 weights", fontsize=7,
            va="bottom", ha="right", color="gray")
    shape = ", ".join([f"{n}k" for n in network.sizes[:-1]] + [str(network.sizes[-1])])
    acts = ",".join(dict.fromkeys(network.activation_names))
    ax.set_xlabel(f"weights W (networks [{shape}], k = 1, 2, 4, …; {acts}, {network.loss.name}, one sample)")
    ax.set_ylabel("seconds for every ∂E/∂w")
    ax.set_title(f"The cost of the gradient: {len(costs)} networks, timed in {seconds:.1f} s", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def _series(ax, weights, seconds, measured, label, colour, marker, powers, below: bool = False) -> None:
    """Measured points filled, estimated ones hollow; the fit on all of them drawn over them, dotted
    where it is extrapolated to the Atari network."""
    ax.loglog(weights[measured], seconds[measured], marker, color=colour, label=f"{label}: measured, every pass run")
    if (~measured).any():
        ax.loglog(weights[~measured], seconds[~measured], marker, mfc="none", color=colour)
    if len(weights) < len(powers) + 1:
        return
    fit, miss = cost_fit(weights, seconds, powers)
    points = f"{int(measured.sum())} measured" + (f" and {int((~measured).sum())} estimated" if (~measured).any() else "")
    span = np.logspace(np.log10(weights[0]), np.log10(weights[-1]), 40)
    ax.loglog(span, _evaluate(fit, span), "-", color=colour, lw=1,
              label=f"fit {_formula(fit)} on the {points} points (within ×{miss:.2f})")
    fit_w = weights
    reach = np.logspace(np.log10(fit_w[-1]), np.log10(ATARI_WEIGHTS), 20)
    ax.loglog(reach, _evaluate(fit, reach), ":", color=colour, lw=1)
    at_atari = float(_evaluate(fit, ATARI_WEIGHTS))
    ax.loglog([ATARI_WEIGHTS], [at_atari], "x", color=colour)
    ax.annotate(f"fit extrapolated: {_duration(at_atari)}", (ATARI_WEIGHTS, at_atari), textcoords="offset points",
                xytext=(-8, -12 if below else 6), ha="right", fontsize=7, color=colour)


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60), ("s", 1)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds * 1e3:.3g} ms"
