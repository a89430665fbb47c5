"""Running a definition or a command the way the tests of hostile input need: in a forked child with a
budget (a hang fails the test instead of stopping the suite), or through the command line in this process
with its output captured. Shared by tests/test_definition_checks.py and tests/test_robust_claims.py."""

from __future__ import annotations

import contextlib
import io

from gradproof.cli import main
from gradproof.derive.runtime.forked import bounded


def in_a_child(task, budget: float = 20.0):
    """``task()`` in a forked child within ``budget`` seconds: its answer, or the test fails."""
    answer = bounded(task, budget, lambda error: f"raised {type(error).__name__}: {error}")
    assert answer is not None, f"no answer within {budget} s: it hangs"
    return answer


def cli(arguments: list[str]) -> tuple[int, str, str]:
    """``gradproof ARGUMENTS`` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(arguments)
    return status, out.getvalue(), err.getvalue()
