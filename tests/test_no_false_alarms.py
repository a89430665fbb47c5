"""No false alarms, no silent passes: the Ψ recurrence (correct) on many hypothesis-drawn networks per
finite-difference method, in every regime where checks go wrong (ordinary, near ReLU kinks, saturated,
large inputs, confident classifiers, tiny and subnormal gradients, every loss, batches).

- a correct gradient never **differs**;
- where the check **agrees**, it could have failed: zeros planted in a layer (each in turn) differ, and so
  does an error of 2.0001 × the tolerance planted at the weight the finite difference resolves best;
- **cannot decide** is counted, with its causes.

Slow: ``python -m pytest -m slow tests/test_no_false_alarms.py -s -n 0`` runs GRADPROOF_FALSE_ALARM_EXAMPLES
networks per method (default 10,000) and prints the counts and the time.
"""

import os
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from gradproof.numeric.checks.check import check_gradient, matrix_psi
from gradproof.numeric.differences.finite_difference import METHODS
from tests.hard_samples import hard_samples, planted

EXAMPLES = int(os.environ.get("GRADPROOF_FALSE_ALARM_EXAMPLES", "10000"))



def _could_have_failed(sample, result, method, layer):
    """Plant two errors the agreeing check must catch; returns the verdicts."""
    network = sample.network
    zeros = check_gradient(sample, planted(network, layer), method=method, direct=False)
    ratio = [np.where(t < np.abs(f), np.abs(f) / t, 0) for t, f in
             zip(result.comparison.tolerance, result.comparison.finite_difference)]
    best = max(range(network.depth), key=lambda l: float(np.max(ratio[l])))
    index = np.unravel_index(np.argmax(ratio[best]), ratio[best].shape)
    offset = 2.0001 * float(result.comparison.tolerance[best][index])
    moved = check_gradient(sample, planted(network, best, index, offset), method=method, direct=False)
    return zeros.verdict, moved.verdict


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_no_false_alarms_and_no_silent_passes(method):
    seen = Counter()
    start = time.perf_counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(hard_samples())
    def correct_gradients(sample):
        seen["networks"] += 1
        seen[sample.network.loss.name] += 1
        seen["batches"] += sample.batch is not None and sample.batch > 1
        result = check_gradient(sample, matrix_psi(sample.network), analytic_name="the Ψ recurrence",
                                method=method, direct=False)
        seen[result.verdict] += 1
        assert result.verdict != "differ", "FALSE ALARM\n" + result.report() + "\n" + repr(sample)
        if result.verdict == "cannot decide":
            seen["cannot decide: " + ("unreliable" if result.unreliable else "unresolved layer")] += 1
            return
        layer = seen["agree"] % sample.network.depth  # every layer in turn
        verdicts = _could_have_failed(sample, result, method, layer)
        assert verdicts == ("differ", "differ"), f"SILENT PASS {verdicts}\n" + repr(sample)
        seen["planted errors caught"] += 2

    correct_gradients()
    print(f"\n{method}: {dict(seen)} in {time.perf_counter() - start:.0f} s")
    assert seen["networks"] >= EXAMPLES and seen["differ"] == 0
