"""The canonical basis's zero test (derive/proof/canonical.py): relations between applications that the
plain polynomial test cannot see (σ(−z) = 1 − σ(z), tanh through σ, sign² = 1 off the kink) are found,
and near misses are not."""

import pytest
import sympy as sp

from gradproof.derive.proof.canonical import reduces_to_zero, rewrite
from gradproof.derive.symbolic.functions import relu, sigmoid

z, w = sp.symbols("z w", real=True)

IDENTITIES = [
    (sigmoid(-z), 1 - sigmoid(z)),
    (sp.tanh(z), 2 * sigmoid(2 * z) - 1),
    (sigmoid(z) * (1 - sigmoid(z)), sp.exp(-z) / (1 + sp.exp(-z)) ** 2),
    (sp.sign(z) ** 2, sp.Integer(1)),                           # S² = 1, off z = 0
    (sp.Heaviside(z) * (1 - sp.Heaviside(z)), sp.Integer(0)),   # (1 + S)(1 − S)/4
    (sp.Abs(z * w) ** 2, z ** 2 * w ** 2),
    (relu(z) * sp.Heaviside(z), relu(z)),
    (sp.sign(z) ** 3 * (w + 1), sp.sign(z) * (w + 1)),
]
NEAR_MISSES = [
    (sigmoid(-z), sigmoid(z)),
    (sp.tanh(z), 2 * sigmoid(z) - 1),
    (sp.sign(z) ** 2, sp.sign(z)),
    (sp.Heaviside(z) * (1 - sp.Heaviside(z)), sp.Heaviside(z)),
    (sp.Abs(z) ** 3, z ** 3),
    (relu(z) * sp.Heaviside(z), z),
]


def reduces(left, right) -> bool:
    (a, b), basis = rewrite([left, right])
    return reduces_to_zero(a - b, basis)


@pytest.mark.parametrize("left, right", IDENTITIES, ids=str)
def test_identities_of_the_functions_reduce_to_zero(left, right):
    assert reduces(left, right)


@pytest.mark.parametrize("left, right", NEAR_MISSES, ids=str)
def test_near_misses_do_not(left, right):
    assert not reduces(left, right)


def test_floating_point_coefficients_never_reduce():
    assert not reduces(sp.Float(0.5) * sigmoid(-z), (1 - sigmoid(z)) / 2)
