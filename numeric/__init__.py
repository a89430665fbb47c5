"""gradproof's numeric half: compiled gradients checked against the finite-difference definition.

    from numeric import check_gradient, random_sample
    from derive.network import Network

    result = check_gradient(random_sample(Network.from_spec("4,8,3", "tanh", "softmax-ce"), seed=1))
    result.raise_if_failed()          # GradientMismatch (an AssertionError) with a table when wrong

Strategies for your own hypothesis tests are in :mod:`numeric.strategies`, settings profiles in
:mod:`numeric.profiles`.
"""

from numeric.check import CheckResult, check_gradient
from numeric.errors import BackwardPassError, FiniteDifferenceUnreliable, GradientMismatch
from numeric.samples import PrecisionWarning, Sample, make_sample, random_sample

__all__ = ["BackwardPassError", "CheckResult", "FiniteDifferenceUnreliable", "GradientMismatch",
           "PrecisionWarning", "Sample", "check_gradient", "make_sample", "random_sample"]
