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


def test_cost_measures_what_it_says_and_estimates_the_rest(monkeypatch):
    passes = []
    monkeypatch.setattr(plots, "error", lambda *args, _error=plots.error: passes.append(1) or _error(*args))
    network = Network.from_spec([20, 20, 2])
    measured = plots.measure_cost(network, budget=60.0)
    assert measured.measured and measured.timed_passes == network.n_weights == 462
    assert len(passes) == 64 + 462        # the sample that sizes the run, then every weight's pass
    passes.clear()
    estimated = plots.measure_cost(network, budget=0.0, sample_passes=16)
    assert not estimated.measured and estimated.timed_passes == 16 and len(passes) == 16
    assert measured.definition_seconds > measured.psi_seconds   # a forward pass per weight costs more


def test_the_family_honours_the_network_and_stays_left_of_the_atari_line():
    network = Network.from_spec("3,4,2", "tanh", "bce", bias=False)
    found = plots.family(network)
    assert [n.sizes for n in found[:3]] == [(3, 4, 2), (6, 8, 2), (12, 16, 2)]
    assert all(n.activation_names == ("tanh", "sigmoid") and n.loss.name == "bce" and not n.bias for n in found)
    assert all(n.n_weights < plots.ATARI_WEIGHTS for n in found) and found[-1].n_weights * 4 > plots.ATARI_WEIGHTS // 2


def test_the_cost_fit_describes_its_points_or_says_how_far_it_misses():
    weights = np.array([1e2, 1e3, 1e4, 1e5])
    fit, miss = plots.cost_fit(weights, 2e-5 * weights + 1e-9 * weights ** 2, (1, 2))
    assert fit[1] == pytest.approx(2e-5) and fit[2] == pytest.approx(1e-9) and miss == pytest.approx(1.0)
    _, miss = plots.cost_fit(weights, np.array([1.0, 1e-3, 1.0, 1e-3]), (1, 2))   # no such law: it says so
    assert miss > 100


def test_cost_plot_draws_measured_estimated_and_extrapolated_apart():
    figure, ax = plt.subplots()
    network = Network.from_spec([2, 2, 1])
    costs = [plots.measure_cost(n, budget=0.05) for n in plots.family(network, largest=20_000)]
    assert plots.cost(network, costs=costs, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("measured, every pass run" in label for label in labels)
    assert any(label.startswith("estimated: 64 passes timed") for label in labels)
    fits = [line for line in ax.get_lines() if line.get_label().startswith("fit ")]
    assert len(fits) == 2
    for fit in fits:   # drawn over its points only; the extrapolation is a dotted line of its own
        assert fit.get_linestyle() == "-" and max(fit.get_xdata()) <= costs[-1].weights * 1.0001
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":" and line.get_label().startswith("_")]
    assert len(dotted) >= 2 and all(max(line.get_xdata()) == pytest.approx(plots.ATARI_WEIGHTS) for line in dotted)
    assert all(c.weights < plots.ATARI_WEIGHTS for c in costs)
    assert any("fit extrapolated" in t.get_text() for t in ax.texts) and any("1,685,667" in t.get_text() for t in ax.texts)
    assert "[2k, 2k, 1]" in ax.get_xlabel()
    plt.close(figure)


@pytest.mark.parametrize("kind, extra", [("error-vs-step", []), ("cost", []),
                                         ("error-vs-step", ["--activation", "relu"])])
@pytest.mark.sampled(1)
def test_cli_plot(tmp_path, kind, extra, monkeypatch, capsys):
    from gradproof.cli import main
    if kind == "cost":
        monkeypatch.setattr(plots, "family", lambda network, _family=plots.family: _family(network, largest=5000))
    out = tmp_path / f"{kind}.png"
    assert main(["plot", kind, "--layers", "2,3,2", "-o", str(out), *extra]) == 0
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in capsys.readouterr().err


def test_cli_plot_cost_of_a_convolution_says_it_cannot(tmp_path, capsys):
    from gradproof.cli import main
    assert main(["plot", "cost", "--layers", "1x4x4,conv2k2,3", "-o", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert "gradproof plot cost supports dense layers only" in err and "Traceback" not in err
