"""The direction tier's rounding bound on networks with convolutions (gradproof.numeric.differences.
conv_direction) rests on the forward pass and the complex step's slopes only: |Ψ| is bounded by magnitudes
pushed up, never computed by the recurrence the check may be checking."""

import numpy as np
import pytest

from gradproof.derive.model.network import Network
from gradproof.numeric.checks import conv_check
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.checks.conv_mistakes import CONV_MISTAKES, as_gradient
from gradproof.numeric.compiled import conv
from gradproof.numeric.compiled.conv import conv_psi_gradient
from gradproof.numeric.differences.conv_direction import known_sensitivities, weighed
from gradproof.numeric.differences.conv_tangents import absolute
from gradproof.numeric.samples import random_sample

SPECS = [("2x9x9,conv3k3s2p1,conv3k3s2p1,conv3k2s1p1,4,2", "tanh"), ("1x6x6,conv2k3s1p1,conv2k2s2,3", "sigmoid"),
         ("2x5x5,conv3k2s2p1,4", "softplus")]


@pytest.mark.parametrize("spec, activation", SPECS)
def test_the_magnitude_sweep_bounds_every_psi_from_above(spec, activation):
    """Σ⟨|Ψ[l]|, T[l]⟩, with Ψ from the recurrence (right on these networks: the complex step agrees, see
    test_conv), never exceeds the sweep's bound; with T one layer's unit at a time, the sweep is at most
    Σ over paths of |products|, not a wild overestimate on these small networks."""
    network = Network.from_spec(spec, activation)
    sample = random_sample(network, seed=3, batch=2)
    x, y = sample.columns()
    prepared = conv_check.setup(network, list(sample.wbar), x, y, "mean")
    psis = conv.CONV_PSI.psis(network, list(sample.wbar), prepared.fwd, y, "mean")
    magnitudes = absolute(prepared.point, prepared.slope_slack, prepared.out_slack)
    known = known_sensitivities(network, prepared.point, magnitudes)
    for layer, found in known.items():  # the forward mode's |Ψ|: the recurrence's, to rounding (right here)
        assert np.allclose(found, np.abs(psis[layer]) + (prepared.out_slack if layer == network.depth - 1 else 0),
                           rtol=1e-10, atol=1e-15)
    rng = np.random.default_rng(0)
    for _ in range(5):
        terms = [rng.random(p.shape) for p in psis]
        exact = sum(float(np.vdot(np.abs(p), t)) for p, t in zip(psis, terms))
        assert exact <= weighed(network, magnitudes, terms, known) * (1 + 1e-12)
    for layer, psi in enumerate(psis):  # one layer alone: the output layer's weight is exactly |∂E/∂z|
        terms = [np.zeros_like(p) for p in psis]
        terms[layer] = np.ones_like(psi)
        bound = weighed(network, magnitudes, terms, known)
        assert float(np.abs(psi).sum()) <= bound * (1 + 1e-12)
        if layer == network.depth - 1:
            assert bound == pytest.approx(float(np.abs(prepared.point.out).sum() + prepared.out_slack.sum()))


def test_the_direction_tier_runs_with_the_recurrence_disabled(monkeypatch):
    """The check of a given gradient: break every method of the Ψ recurrence; the direction tier gives
    the same verdict and the same bound (nothing of it came from Ψ)."""
    network = Network.from_spec(*SPECS[0])
    sample = random_sample(network, seed=5)
    x, y = sample.columns()
    right = conv_psi_gradient(network, sample.wbar, x, y)
    before = check_gradient(sample, lambda *a: right, tier="direction").direction

    def broken(*args, **kwargs):
        raise AssertionError("the direction bound used the Ψ recurrence")
    for name in ("psis", "back", "propagate", "transposed", "output_psi", "gradient"):
        monkeypatch.setattr(conv.CONV_PSI, name, broken, raising=False)
    after = check_gradient(sample, lambda *a: right, tier="direction").direction
    assert after.ok and after == before


@pytest.mark.parametrize("name", sorted(CONV_MISTAKES))
def test_negative_control_planted_mistakes_still_fail_the_direction_tier(name):
    network = Network.from_spec(*SPECS[0])
    sample = random_sample(network, seed=4)
    assert check_gradient(sample, tier="direction").direction.ok
    result = check_gradient(sample, as_gradient(CONV_MISTAKES[name].recurrence, network), tier="direction")
    assert not result.direction.ok


def test_negative_control_one_part_in_ten_million_fails():
    """The bound stays tight enough: a 1e-7 relative error in one layer (far below any mistake) fails."""
    network = Network.from_spec(*SPECS[0])
    sample = random_sample(network, seed=6)
    x, y = sample.columns()
    right = conv_psi_gradient(network, sample.wbar, x, y)
    for layer in range(network.depth):
        off = [g * (1 + 1e-7) if l == layer else g for l, g in enumerate(right)]
        assert not check_gradient(sample, lambda *a, off=off: off, tier="direction").direction.ok, layer
