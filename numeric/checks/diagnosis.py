"""Say what a wrong gradient looks like: a catalogued mistake, a flipped sign, a constant factor, zeros,
and where it goes wrong (the layers it spares point at the step that broke)."""

from __future__ import annotations

import numpy as np

from gradproof.derive.model.mistakes import CATALOGUE
from gradproof.numeric.checks.mistakes import NUMERIC_MISTAKES


def diagnose(sample, analytic, comparison) -> tuple[str, ...]:
    """Sentences for a failed comparison (empty when nothing is recognised)."""
    network = sample.network
    failing = [share > 1 for share in comparison.share]
    if not any(f.any() for f in failing):
        return ()
    x, y = sample.columns()
    matches = []
    for name, mistake in CATALOGUE.items():
        if not mistake.applies(network):
            continue
        with np.errstate(all="ignore"):
            theirs = NUMERIC_MISTAKES[name].gradient(network, sample.wbar, x, y)
        if _explains(analytic, theirs, comparison, failing):
            matches.append(f"{mistake.description} ({name})")
    if len(matches) == 1:
        found = [f"this looks like a known mistake: {matches[0]}"]
    elif matches:
        found = ["this looks like one of these known mistakes (they give the same numbers here): "
                 + "; ".join(matches)]
    else:
        found = _patterns(analytic, comparison, failing)
    found.append(_where(network, failing))
    return tuple(found)


def _explains(analytic, theirs, comparison, failing) -> bool:
    """Whether a mistake's gradient is the one under test: equal to it within the tolerances everywhere,
    and itself wrong (beyond its tolerance) on the weights that failed: a mistake that also agrees with
    the finite difference there explains nothing."""
    for a, t, tol, fd, f in zip(analytic, theirs, comparison.tolerance, comparison.finite_difference, failing):
        if not np.all(np.abs(a - t) <= tol) or not np.all(np.abs(t - fd)[f] > tol[f]):
            return False
    return True


def _patterns(analytic, comparison, failing) -> list[str]:
    wrong = np.concatenate([a[f] for a, f in zip(analytic, failing)])
    right = np.concatenate([fd[f] for fd, f in zip(comparison.finite_difference, failing)])
    tolerance = np.concatenate([t[f] for t, f in zip(comparison.tolerance, failing)])
    if np.all(wrong == 0):
        return ["the wrong entries are all 0: were they never computed (a loop that stops early, a "
                "forgotten bias column)?"]
    if np.all(np.abs(wrong + right) <= tolerance):
        return ["the wrong entries have the right size and the wrong sign"]
    usable = np.abs(right) > tolerance
    if usable.any():
        ratios = wrong[usable] / right[usable]
        if np.all(np.abs(ratios - ratios[0]) <= 1e-6 * np.abs(ratios[0])):
            return [f"the wrong entries are all {ratios[0]:.6g} times the finite difference: a constant "
                    "factor (a ½, a 2, a 1/n or the batch size)?"]
    return []


def _where(network, failing) -> str:
    layers = [layer for layer, f in enumerate(failing) if f.any()]
    text = f"wrong in layer{'s' if len(layers) > 1 else ''} {', '.join(map(str, layers))}"
    if layers == list(range(max(layers) + 1)) and max(layers) < network.depth - 1:
        top = max(layers)
        return (text + f" and right above: the first wrong Ψ is Ψ[{top}], so look at the step that makes it "
                f"from Ψ[{top + 1}] (W̄[{top + 1}]ᵀ, the bias column, a'(z[{top}]))")
    if all(not f[:, 1:].any() for f in failing if f.size) and network.bias:
        return text + ": only bias weights (ˡw⁰ᵢ) are wrong"
    return text
