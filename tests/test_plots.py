"""Plots: every function takes an ax and returns it; the figures show what they claim."""

import numpy as np
import pytest

from gradproof.derive.model.network import Network
from gradproof.numeric.samples import random_sample

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

from gradproof.numeric import plots  # noqa: E402


def test_error_against_step_is_a_v_with_the_default_steps_marked():
    figure, ax = plt.subplots()
    sample = random_sample(Network.source_text(), seed=1)
    assert plots.error_vs_step(sample, ax=ax) is ax
    curves = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert {"forward", "central", "richardson", "complex-step"} <= set(curves)
    for method in ("forward", "central"):
        steps, errors = curves[method].get_data()
        best = int(np.argmin(errors))
        assert 0 < best < len(steps) - 1                    # rounding on the left, truncation on the right
        assert errors[0] > 100 * errors[best] and errors[-1] > 100 * errors[best]
    _, complex_errors = curves["complex-step"].get_data()
    assert complex_errors[0] < 1e-14                       # no cancellation, however small the step
    plt.close(figure)


def test_cost_measures_both_and_reaches_the_atari_network():
    figure, ax = plt.subplots()
    assert plots.cost(widths=(4, 8, 16, 32), ax=ax) is ax
    texts = [t.get_text() for t in ax.texts]
    assert any("1,685,667" in t for t in texts)
    measured = [line for line in ax.get_lines() if "measured" in line.get_label()]
    definition, psi = (line.get_ydata() for line in measured)
    assert np.all(definition > psi)                        # a forward pass per weight costs more
    plt.close(figure)


@pytest.mark.parametrize("kind", ["error-vs-step", "cost"])
def test_cli_plot(tmp_path, kind, monkeypatch):
    from gradproof.cli import main
    if kind == "cost":
        monkeypatch.setattr(plots.cost, "__defaults__", None)
        monkeypatch.setattr(plots, "cost", lambda ax=None, _cost=plots.cost: _cost(widths=(4, 8, 16), ax=ax))
    out = tmp_path / f"{kind}.png"
    assert main(["plot", kind, "--layers", "2,3,2", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
