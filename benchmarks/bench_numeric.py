"""Benchmark the numeric check against torch.autograd.gradcheck, side by side in one process.

    python benchmarks/bench_numeric.py             # [2,3,3,2], [10,32,32,10], [64,128,128,10]
    python benchmarks/bench_numeric.py --largest 256,256,128,10

For each network (sigmoid, half-sse, one sample, seed 0): the time of gradproof's full per-weight check
(every weight, complex step; compiling the symbolic forms is not counted), the time of
``torch.autograd.gradcheck`` on the same function with its defaults (eps 1e-6, atol 1e-5, rtol 1e-3) where
PyTorch is installed, and their ratio; then the largest error of each finite-difference method against
the Ψ gradient, per entry (relative to the entry, over entries above their tolerance) and relative to
the largest entry.
"""

from __future__ import annotations

from gradproof.derive.runtime.threads import default_blas_threads

default_blas_threads()  # before numpy is imported: one BLAS thread, as the command line (derive/threads.py)

import argparse  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402

from gradproof.derive.model.network import Network  # noqa: E402
from gradproof.numeric.checks.check import check_gradient  # noqa: E402
from gradproof.numeric.differences.finite_difference import METHODS, finite_difference  # noqa: E402
from gradproof.numeric.compiled.matrix import psi_gradient  # noqa: E402
from gradproof.numeric.samples import random_sample  # noqa: E402
from timing import best_of, peak_mb  # noqa: E402
from torch_baseline import gradcheck_seconds, torch  # noqa: E402



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--largest", default="64,128,128,10", help="the largest network to run")
    args = parser.parse_args()
    layers = ["2,3,3,2", "10,32,32,10"] + [args.largest]
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, {platform.machine()}")
    print(f"\n{'network':>16} {'weights':>8} {'gradproof s':>12} {'peak MB':>8} {'gradcheck s':>12} {'ratio':>9}  ok")
    samples = {}
    for spec in layers:
        network = Network.from_spec(spec)
        sample = samples[spec] = random_sample(network, seed=0)
        check_gradient(sample)  # compile and warm up
        ours = best_of(3, lambda: check_gradient(sample))
        result = check_gradient(sample)
        peak = peak_mb(lambda: check_gradient(sample))
        baseline = gradcheck_seconds(sample) if torch else None
        ratio = f"{baseline / ours:8.0f}x" if baseline else "—"
        print(f"{spec:>16} {network.n_weights:8d} {ours:12.4f} {peak:8.1f} "
              f"{baseline if baseline else float('nan'):12.3f} {ratio:>9}  {result.ok}")

    print("\nlargest error against the Ψ gradient (per entry: relative to the entry, over resolved entries; "
          "and relative to the largest entry)")
    print(f"{'network':>16} " + " ".join(f"{m:>24}" for m in METHODS))
    for spec, sample in samples.items():
        x, y = sample.columns()
        exact = psi_gradient(sample.network, sample.wbar, x, y)
        largest = max(float(np.max(np.abs(g))) for g in exact)
        cells = []
        for method in METHODS:
            fd = finite_difference(sample.network, sample.wbar, x, y, method)
            diff = [np.abs(f - g) for f, g in zip(fd.values, exact)]
            per_entry = max(float(np.max(d / np.maximum(np.abs(g), 1e-300) * (np.abs(g) > 1e-12 * largest)))
                            for d, g in zip(diff, exact))
            to_largest = max(float(np.max(d)) for d in diff) / largest
            cells.append(f"{per_entry:10.1e} / {to_largest:9.1e}")
        print(f"{spec:>16} " + " ".join(f"{c:>24}" for c in cells))


if __name__ == "__main__":
    main()
