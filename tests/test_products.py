"""The products both forms of the Ψ recurrence share: BLAS or numpy's operators, the same numbers."""

import numpy as np
import pytest

from gradproof.numeric.compiled.products import BROADCAST_ENTRIES, outer_sum, product


@pytest.mark.parametrize("rows, cols", [(1, 1), (7, 5), (128, 129), (BROADCAST_ENTRIES // 1024, 1024),
                                        (BROADCAST_ENTRIES // 1024, 1025)])
def test_both_ways_of_the_outer_product_give_the_same_products(rows, cols):
    rng = np.random.default_rng(rows)
    psi, xbar = rng.standard_normal((rows, 1)), rng.standard_normal((cols, 1))
    psi[-1], xbar[-1] = 0.0 if rows > 1 else psi[-1], -0.0 if cols > 1 else xbar[-1]
    found = outer_sum(psi, xbar)
    assert np.array_equal(found, psi * xbar.T) and np.array_equal(found, np.dot(psi, xbar.T))
    assert np.array_equal(outer_sum(psi, xbar, out=np.empty((rows, cols))), found)
    assert not np.array_equal(outer_sum(psi, xbar * (1 + 2 ** -52)), found)  # the negative control


@pytest.mark.parametrize("rows, cols, batch", [(1, 1, 1), (10, 129, 1), (128, 65, 1), (517, 3001, 1), (7, 9, 5),
                                               (30, 40, 32)])
def test_the_product_is_numpys_matrix_product(rows, cols, batch):
    rng = np.random.default_rng(rows * cols)
    weights, columns = rng.standard_normal((rows, cols)), rng.standard_normal((batch, cols)).T
    found = product(weights, columns)
    assert np.array_equal(found, weights @ columns) and np.array_equal(product(weights.T, found), weights.T @ found)
    assert np.array_equal(product(weights, columns, out=np.empty((rows, batch))), found)
    as_complex = weights.astype(complex)
    assert np.array_equal(product(as_complex, columns), as_complex @ columns)
    assert not np.array_equal(product(weights, columns * (1 + 2 ** -52)), found)  # the negative control
