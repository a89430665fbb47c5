"""No false alarms: a correct gradient passes on many hypothesis-drawn networks, including saturated
sigmoids (large weights, tiny gradients), ReLU near its kink, batches and every loss and method.

Slow: ``python -m pytest -m slow tests/test_no_false_alarms.py -s`` runs GRADPROOF_FALSE_ALARM_EXAMPLES
networks (default 10,000) and prints the count, how many finite differences declared themselves
unreliable (a step across a ReLU kink, an overflow) and the time.
"""

import os
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradproof.numeric.checks.check import check_gradient, matrix_psi
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.differences.finite_difference import METHODS
from gradproof.numeric.strategies.networks import architectures, networks

EXAMPLES = int(os.environ.get("GRADPROOF_FALSE_ALARM_EXAMPLES", "10000"))
SHAPES = architectures(max_depth=4, max_width=6)
DRAWS = st.one_of(
    networks(architecture=SHAPES, weight_bound=1.0, max_batch=4),
    networks(architecture=SHAPES, weight_bound=4.0, max_batch=4, kink_margin=0.005),  # ReLU near its kink
    networks(architecture=SHAPES, weight_bound=12.0, max_batch=2),                     # saturated, tiny gradients
)


@pytest.mark.slow
def test_no_false_alarms():
    seen = Counter()
    start = time.perf_counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(DRAWS, st.sampled_from(METHODS))
    def correct_gradients_pass(sample, method):
        seen["networks"] += 1
        seen[sample.network.loss.name] += 1
        seen["batches"] += sample.batch is not None and sample.batch > 1
        try:
            result = check_gradient(sample, matrix_psi(sample.network), analytic_name="the Ψ recurrence",
                                    method=method, direct=False)
        except FiniteDifferenceUnreliable:
            seen["unreliable"] += 1
            return
        assert result.ok, result.report() + "\n" + repr(sample)

    correct_gradients_pass()
    print(f"\n{dict(seen)} in {time.perf_counter() - start:.0f} s")
    assert seen["networks"] >= EXAMPLES
