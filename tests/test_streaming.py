"""The streaming outer product (numeric/compiled/_streaming.c): the numbers numpy's broadcasting gives, bit
for bit, at every alignment and size; nothing written where it does not apply; built wherever a C compiler is."""

import shutil

import numpy as np
import pytest

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled import products
from gradproof.numeric.compiled.matrix import MATRIX_PSI, MatrixRecurrence
from gradproof.numeric.samples import random_sample

built = pytest.mark.skipif(not products.STREAMING, reason="the streaming kernel is not built here")


def _bits(a):
    return a.view(np.uint64)


def test_the_kernel_is_built_wherever_a_c_compiler_is():
    """CI has a compiler: a silently unbuilt kernel would leave the fast path untested there."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here")
    assert products.outer_into is not None and products.STREAMING == 1


@built
@pytest.mark.parametrize("m, n", [(1, 1), (1, 7), (3, 1), (5, 2), (7, 3), (300, 301), (517, 3001)])
@pytest.mark.parametrize("shift", [0, 1], ids=["aligned", "8 bytes off"])
def test_every_entry_is_the_product_numpy_rounds(m, n, shift):
    rng = np.random.default_rng(m * n + shift)
    psi, x = rng.standard_normal(m) * 10.0 ** rng.integers(-300, 300, m), rng.standard_normal(n)
    x[:: max(n // 3, 1)] = [0.0, -0.0, np.inf, np.nan, 5e-324][: len(x[:: max(n // 3, 1)])] if n >= 5 else x[0]
    out = np.full(m * n + shift, 7.0)[shift:].reshape(m, n)   # C-contiguous, on a 16-byte boundary or 8 off
    assert products.streamed(psi, x, out)
    with np.errstate(all="ignore"):
        expected = np.multiply(psi[:, None], x[None, :])
    assert np.array_equal(_bits(out), _bits(expected))


@built
def test_nothing_is_written_where_the_kernel_does_not_apply():
    psi, x = np.arange(3.0), np.arange(4.0)
    for out in (np.zeros((4, 3)), np.zeros((3, 8))[:, ::2], np.zeros((3, 4), dtype=np.float32)):
        before = out.copy()
        assert not products.streamed(psi, x, out)
        assert np.array_equal(out, before)
    assert not products.streamed(np.arange(3), x, np.zeros((3, 4)))   # integers are not read as doubles
    frozen = np.zeros((3, 4))
    frozen.flags.writeable = False
    assert not products.streamed(psi, x, frozen)


@built
def test_a_large_gradient_by_the_fast_path_is_the_step_by_step_one_bit_for_bit():
    """Large enough to stream (300×301 weights in the first layer); the step-by-step control runs numpy's."""
    network = Network.from_spec("300,300,4")
    sample = random_sample(network, seed=3)
    x, y = sample.columns()

    class StepByStep(MatrixRecurrence):
        def weight_gradient(self, network, fwd, layer, psi):
            return np.multiply(psi, fwd.xbar[layer].T)

    for _ in range(2):   # the second call writes into the first's buffers
        fast, slow = MATRIX_PSI.gradient(network, sample.wbar, x, y), StepByStep().gradient(network, sample.wbar, x, y)
        assert all(np.array_equal(_bits(a), _bits(b)) for a, b in zip(fast, slow))
