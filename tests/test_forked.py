"""A task in a forked child with a budget: its answer, None past the budget, and what failed() makes of an
error raised in the child or of a child that ended without answering."""

import os
import time

from gradproof.derive.runtime.forked import bounded


def _failed(error):
    return ("ended", None) if error is None else ("raised", type(error).__name__)


def test_each_outcome_of_a_bounded_task():
    assert bounded(lambda: 2 + 2, 10, _failed) == 4
    assert bounded(lambda: 1 / 0, 10, _failed) == ("raised", "ZeroDivisionError")
    assert bounded(lambda: os._exit(3), 10, _failed) == ("ended", None)
    start = time.perf_counter()
    assert bounded(lambda: time.sleep(30), 0.3, _failed) is None
    assert time.perf_counter() - start < 10     # stopped, not waited for
