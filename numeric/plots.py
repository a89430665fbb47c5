"""Plots (matplotlib, the optional ``plot`` extra): every function takes an ``ax`` and returns it.

- :func:`error_vs_step`: the finite difference's error against its step, one curve per method: the
  classic V, truncation on the right, rounding on the left (flat for the complex step), the default
  step of each method marked.
- :func:`cost`: the time to get every ∂E/∂w by the source text's definition (a forward pass per weight)
  and by the Ψ recurrence (one forward and one backward pass), measured on growing networks and
  extrapolated to the source text's 1,685,667-weight Atari network.
"""

from __future__ import annotations

import time

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.numeric.differences.finite_difference import METHODS, default_step, finite_difference
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
    largest |∂E/∂w|."""
    x, y = sample.columns()
    exact = psi_gradient(sample.network, sample.wbar, x, y)
    scale = max(float(np.max(np.abs(g))) for g in exact)
    out = []
    for h in steps:
        fd = finite_difference(sample.network, sample.wbar, x, y, method, step=h)
        out.append(max(float(np.max(np.abs(f - g))) for f, g in zip(fd.values, exact)) / scale)
    return np.maximum(np.array(out), np.finfo(float).eps / 8)  # exact zeros still show on a log axis


def error_vs_step(sample: Sample, *, methods=METHODS, steps=None, ax=None):
    """The error of each finite-difference method against its step, for ``sample``'s network."""
    ax = _axes(ax)
    for method in methods:
        colour = COLOURS.get(method)
        if steps is not None:
            grid = np.asarray(steps, dtype=float)
        else:  # below ε a real step does not move w at all; the complex step has no such floor
            grid = np.logspace(-21 if method == "complex-step" else -15, -1, 41)
        style = "--" if method == "complex-step" else "-"
        ax.loglog(grid, step_errors(sample, method, grid), style, color=colour, label=method, lw=1.4)
        default = default_step(method)
        at_default = step_errors(sample, method, [default])[0]
        ax.loglog([default], [at_default], "o", color=colour, ms=7, mec="black")
    ax.plot([], [], "o", color="white", mec="black", label="default step")
    ax.set_xlabel("step h (relative to max(1, |w|); absolute for the complex step)")
    ax.set_ylabel("largest |finite difference − Ψ| / largest |∂E/∂w|")
    ax.set_title(f"Finite-difference error, [{','.join(map(str, sample.network.sizes))}] "
                 f"{sample.network.activations[0].name}, {sample.network.loss.name}", fontsize=10)
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


def measure_cost(width: int, seed: int = 0, sampled_weights: int = 64) -> tuple[int, float, float]:
    """(weights, seconds for every weight by the definition, seconds for the Ψ recurrence) for a
    [width, width, width, 10] sigmoid network. The definition is timed on ``sampled_weights`` forward
    passes with one weight moved (every pass costs the same) and scaled to all weights."""
    network = Network.from_spec([width, width, width, 10])
    sample = random_sample(network, seed=seed)
    x, y = sample.columns()
    moved = [w.copy() for w in sample.wbar]

    def by_definition():
        for k in range(sampled_weights):
            layer = k % network.depth
            row, col = np.unravel_index(k % moved[layer].size, moved[layer].shape)
            moved[layer][row, col] += 1e-8
            error(network, moved, x, y)
            moved[layer][row, col] -= 1e-8

    per_pass = _seconds(by_definition) / sampled_weights
    psi = _seconds(lambda: psi_gradient(network, sample.wbar, x, y))
    return network.n_weights, per_pass * network.n_weights, psi


def cost(*, widths=(4, 8, 16, 32, 64, 128, 256, 512, 768, 1024), ax=None):
    """Seconds to get every gradient, by the definition and by the Ψ recurrence, against the number of
    weights: measured points, power-law fits, and both extrapolated to the Atari network."""
    ax = _axes(ax)
    points = np.array([measure_cost(w) for w in widths])
    weights, definition, psi = points[:, 0], points[:, 1], points[:, 2]
    reach = np.logspace(np.log10(weights[0]), np.log10(ATARI_WEIGHTS), 50)
    for values, label, colour in ((definition, "the definition: a forward pass per weight", "tab:red"),
                                  (psi, "the Ψ recurrence: one forward and one backward pass", "tab:blue")):
        fit = np.polyfit(np.log(weights[-3:]), np.log(values[-3:]), 1)  # the largest: overhead is gone
        ax.loglog(weights, values, "o", color=colour, label=f"{label} (measured)")
        ax.loglog(reach, np.exp(np.polyval(fit, np.log(reach))), "--", color=colour, lw=1,
                  label=f"fit ∝ W^{fit[0]:.2f}, extrapolated")
        at_atari = float(np.exp(np.polyval(fit, np.log(ATARI_WEIGHTS))))
        ax.annotate(f"{_duration(at_atari)}", (ATARI_WEIGHTS, at_atari), textcoords="offset points",
                    xytext=(-10, 8), ha="right", fontsize=8, color=colour)
    ax.axvline(ATARI_WEIGHTS, color="gray", lw=0.8, ls=":")
    ax.text(ATARI_WEIGHTS, ax.get_ylim()[0], " Atari network\n 1,685,667 weights", fontsize=7,
            va="bottom", ha="right", color="gray")
    ax.set_xlabel("weights W (networks [n, n, n, 10], sigmoid, one sample)")
    ax.set_ylabel("seconds for every ∂E/∂w")
    ax.set_title("The cost of the gradient: the definition against the Ψ recurrence", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60), ("s", 1)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds * 1e3:.3g} ms"
