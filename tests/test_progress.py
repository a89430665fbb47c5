"""Progress bars: drawn on stderr for jobs past the delay, erased when done, silent otherwise."""

import io

import pytest

from gradproof.derive.runtime import progress
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.numeric.differences.finite_difference import finite_difference
from gradproof.numeric.samples import random_sample


def test_a_bar_is_drawn_after_the_delay_and_erased():
    stream = io.StringIO()
    with progress.Progress(4, "job", enabled=True, stream=stream, delay=0.0) as bar:
        for _ in range(4):
            bar.advance()
    out = stream.getvalue()
    assert "job [" in out and "100.0%" in out and out.endswith("\r")


def test_the_bar_estimates_the_time_left_from_the_rate_so_far():
    bar = progress.Progress(100, "job")
    bar.done = 25
    assert "25.0%" in bar.line(30.0) and "30.0 s, ~1 min 30 s left" in bar.line(30.0)
    bar.done = 100
    assert "left" not in bar.line(30.0)


def test_short_jobs_and_disabled_bars_stay_silent():
    for options in ({"enabled": True, "delay": 60.0}, {"enabled": False, "delay": 0.0}):
        stream = io.StringIO()
        with progress.Progress(3, "job", stream=stream, **options) as bar:
            bar.advance(3)
        assert stream.getvalue() == ""


@pytest.mark.parametrize("backend, phases", [("sympy", ("differentiating E [", "deciding [")),
                                             ("auto", ("differentiating E (symengine) [", "deciding (symengine) ["))])
def test_finite_differences_and_exact_proofs_report_progress(monkeypatch, capsys, backend, phases):
    if backend == "auto":
        pytest.importorskip("symengine")
    monkeypatch.setattr(progress, "PROGRESS_DELAY", 0.0)
    network = Network.from_spec("2,3,2")
    sample = random_sample(network, seed=0)
    finite_difference(network, sample.wbar, *sample.columns(), method="central", progress=True)
    assert "finite differences (central) [" in capsys.readouterr().err
    assert prove(network, progress=True, backend=backend).ok
    err = capsys.readouterr().err
    assert all(phase in err for phase in phases)                  # every phase of the exact proof
    assert prove(network).ok                                      # off unless asked (or a tty)
    assert capsys.readouterr().err == ""
    finite_difference(network, sample.wbar, *sample.columns(), method="central")
    assert capsys.readouterr().err == ""
