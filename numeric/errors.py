"""What a numeric check raises, kept apart by cause.

- :class:`GradientMismatch` (an ``AssertionError``, so pytest reports it as a failed assertion): the
  gradient is wrong: it differs from the finite difference by more than the derived tolerance.
- :class:`FiniteDifferenceUnreliable`: the finite difference cannot decide here (a step across a ReLU
  kink, an overflow, a flat region); nothing is said about the gradient.
- :class:`BackwardPassError`: a user's backward pass broke its contract (raised, returned the wrong
  number of arrays or shapes, NaN/inf) before any comparison could be made.
"""

from gradproof.derive.errors import GradproofError, InputError


class GradientMismatch(AssertionError):
    """The gradient differs from the finite difference by more than the tolerance; ``result`` holds
    the full :class:`gradproof.numeric.checks.check.CheckResult`."""

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class FiniteDifferenceUnreliable(GradproofError):
    """The finite difference is not trustworthy at this point, so it cannot judge the gradient."""


class BackwardPassError(InputError):
    """A user's backward pass did not keep its contract (see the README's 'Check your own backward pass')."""
