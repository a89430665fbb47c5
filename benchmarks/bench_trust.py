"""The error model's cost against the output width, with the earlier cubic construction as the baseline
measured side by side in this run, and the full check at widths the issue named.

    python benchmarks/bench_trust.py

and the full check of the dense Atari-sized network by each method (one evaluation stencil per weight:
1, 2, 4 and 1 evaluations, their truncation bounded from analyticity rather than fitted from 8).

The baseline is the earlier model's output sensitivities, kept here as it was (a complex step per output
unit for |∂E/∂z|, and the n×n Hessian by a central difference of those, per unit): O(n³) per sample. The
current model bounds |∂²E/∂z²|·v in closed form (numeric/differences/output_bounds.py): O(n).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gradproof.derive.runtime.threads import default_blas_threads  # noqa: E402

default_blas_threads()

import time  # noqa: E402

import numpy as np  # noqa: E402

from gradproof.derive.model.network import Network  # noqa: E402
from gradproof.numeric.checks.check import check_gradient  # noqa: E402
from gradproof.numeric.compiled.matrix import forward  # noqa: E402
from gradproof.numeric.differences.error_model import error_model  # noqa: E402
from gradproof.numeric.differences.slopes import partials  # noqa: E402
from gradproof.numeric.samples import random_sample  # noqa: E402
from timing import best_of  # noqa: E402

_HESS_STEP = 1e-4


def cubic_output_sensitivity(network: Network, z: np.ndarray, y: np.ndarray):
    """The earlier model's construction (the baseline): |∂E/∂z| by n complex steps and the n×n Hessian by
    2n more calls of the same, each over the whole output."""
    act, loss = network.activations[-1], network.loss

    def by_z(zz):
        return loss.np_error(zz, act.np_forward(zz), y)

    grad = partials(by_z, z)
    hessian = np.zeros((z.shape[0],) + z.shape)
    for j in range(z.shape[0]):
        step = np.zeros_like(z)
        step[j] = _HESS_STEP * np.maximum(1, np.abs(z[j]))
        hessian[:, j] = np.abs(partials(by_z, z + step) - partials(by_z, z - step)) / (2 * step[j])
    return np.abs(grad), hessian


def main() -> None:
    print(f"{'network':>18} {'error model':>12} {'baseline (cubic part)':>22} {'full check':>11}")
    for spec in ("400,20,10", "10,20,100", "10,20,200", "10,20,400", "500,500,500", "1000,1000,1000"):
        network = Network.from_spec(spec)
        sample = random_sample(network, seed=0)
        x, y = sample.columns()
        fwd = forward(network, sample.wbar, x, y)
        ours = best_of(2, lambda: error_model(network, sample.wbar, x, y, fwd))
        width = network.sizes[-1]
        base = best_of(1, lambda: cubic_output_sensitivity(network, fwd.z[-1], y)) if width <= 400 else float("nan")
        check = best_of(1, lambda: check_gradient(sample, direct=False))
        print(f"{spec:>18} {ours * 1e3:10.2f} ms {base:21.2f}s {check:10.2f}s", flush=True)
    atari = random_sample(Network.from_spec("3000,517,256,6"), seed=0)
    print("\nfull check of all 1,685,667 weights of the dense Atari-sized network, one run each (warm):")
    for method in ("complex-step", "forward", "central", "richardson"):
        start = time.perf_counter()
        result = check_gradient(atari, method=method, direct=False)
        print(f"  {method:12} {time.perf_counter() - start:7.2f} s  {result.verdict}, "
              f"{result.resolved:,} weights resolved", flush=True)


if __name__ == "__main__":
    main()
