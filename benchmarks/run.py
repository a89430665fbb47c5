"""Every figure of the scale issue in one run: a table of (figure, ours, baseline, ratio, target).

    python benchmarks/run.py            # everything (about 4 minutes on 2 cores)
    python benchmarks/run.py --quick    # skips the central difference over all 1,685,667 weights and MNIST

Numeric figures are timed in this process, best of a few repeats, with one BLAS thread (and one torch
thread) for both sides; a baseline is always measured side by side in the same run: PyTorch where it is
installed (``torch.autograd.gradcheck``; forward + backward), or gradproof's own reference configuration
(one sample for the batch figure). Symbolic figures run each proof in a fresh interpreter (sympy's
caches would otherwise flatter later runs) and report the proof's own ``seconds``. Peak memory is
Python's traced allocations (numpy's arrays included) during one run.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gradproof.derive.runtime.threads import default_blas_threads  # noqa: E402

default_blas_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from gradproof.derive.model.network import Network  # noqa: E402
from gradproof.numeric.checks.check import check_gradient, matrix_psi, random_direction  # noqa: E402
from gradproof.numeric.differences.finite_difference import finite_difference  # noqa: E402
from gradproof.numeric.samples import random_sample  # noqa: E402
from timing import best_of, peak_mb  # noqa: E402
from torch_baseline import gradcheck_seconds, torch, torch_error, torch_weights  # noqa: E402


ATARI = "3000,517,256,6"
ROWS = []


def row(figure: str, ours: str, baseline: str = "—", ratio: str = "—", target: str = "") -> None:
    ROWS.append((figure, ours, baseline, ratio, target))
    print(f"  {figure:58} {ours:>12} {baseline:>14} {ratio:>9}  {target}", flush=True)


def seconds(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def numeric_figures(quick: bool) -> None:
    print(f"\n  {'figure':58} {'ours':>12} {'baseline':>14} {'ratio':>9}  target")
    mid = random_sample(Network.from_spec("64,128,128,10"), seed=0)
    ours = best_of(3, lambda: check_gradient(mid, direct=False))
    if torch:
        base = gradcheck_seconds(mid)
        row("full check, complex step, [64,128,128,10] vs gradcheck", seconds(ours), seconds(base),
            f"{base / ours:.0f}×", "≤ 40 ms, ≥ 250×")
    else:
        row("full check, complex step, [64,128,128,10]", seconds(ours), target="≤ 40 ms")

    batch = random_sample(Network.from_spec("64,128,128,10"), seed=0, batch=32)
    ours32 = best_of(3, lambda: check_gradient(batch, direct=False))
    row("full check, 32 samples vs 1 sample, [64,128,128,10]", seconds(ours32), seconds(ours),
        f"{ours32 / ours:.1f}×", "≤ 10×")

    wide = random_sample(Network.from_spec("256,256,128,10"), seed=0)
    row("full check, complex step, [256,256,128,10] (99,978 w.)",
        seconds(best_of(3, lambda: check_gradient(wide, direct=False))), target="≤ 0.3 s")

    atari_net = Network.from_spec(ATARI)
    atari = random_sample(atari_net, seed=0)
    x, y = atari.columns()
    psi = matrix_psi(atari_net)
    ours = best_of(5, lambda: psi(atari.wbar, x, y, "mean"))
    if torch:
        error, weights = torch_error(atari), torch_weights(atari)

        def forward_backward():
            for w in weights:
                w.grad = None
            error(*weights).backward()
        base = best_of(5, forward_backward)
        row("Ψ gradient, matrix form, 1,685,667 w. vs torch fwd+bwd", seconds(ours), seconds(base),
            f"{base / ours:.2f}×", "ratio ≥ 1×")
    else:
        row("Ψ gradient, matrix form, 1,685,667 weights", seconds(ours))

    random_direction.cache_clear()
    start = time.perf_counter()
    result = check_gradient(atari, psi, direct=False, tier="direction")
    first = time.perf_counter() - start
    steady = best_of(5, lambda: check_gradient(atari, psi, direct=False, tier="direction"))
    row("direction check, 1,685,667 w. (incl. backprop): repeat / first", seconds(steady), seconds(first),
        "—", "≤ 20 ms")
    fd = finite_difference(atari_net, atari.wbar, x, y, "complex-step")
    v, _ = random_direction(0, tuple(w.shape for w in atari.wbar))
    along = sum(float(np.vdot(f, d)) for f, d in zip(fd.values, v))
    agreement = abs(result.direction.finite_difference - along) / abs(along)
    row("  its agreement with ⟨complex-step gradient, v⟩ (relative)", f"{agreement:.1e}", target="≤ 1e-12")
    row("  run to run: identical", str(check_gradient(atari, psi, direct=False, tier="direction").direction
                                       == result.direction))

    complex_full = best_of(1, lambda: check_gradient(atari, psi, direct=False))
    row("full check, complex step, all 1,685,667 weights", seconds(complex_full), target="≤ 25 s")
    row("  peak memory (MB)", f"{peak_mb(lambda: check_gradient(atari, psi, direct=False)):.0f}")
    if not quick:
        start = time.perf_counter()
        check_gradient(atari, psi, direct=False, method="central")
        row("full check, central (2 evaluations each), all 1,685,667 w.", seconds(time.perf_counter() - start),
            target="≤ 15 s")


CHILD = r"""
import json, sys
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.proof.general import prove_general
layers, activation, method, backend = sys.argv[1:5]
if method == "general":
    from gradproof.derive.model.activations import ACTIVATIONS, Elementwise
    proof = prove_general(tuple(n for n, a in ACTIVATIONS.items() if isinstance(a, Elementwise)))
    print(json.dumps({"ok": proof.ok, "seconds": proof.seconds}))
else:
    proof = prove(Network.from_spec(layers, activation), method=method, backend=backend)
    print(json.dumps({"ok": proof.ok, "seconds": proof.seconds, "weights": proof.total}))
"""


def child(layers: str, activation: str, method: str, backend: str = "sympy") -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, layers, activation, method, backend],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def symbolic_figures(quick: bool) -> None:
    print(f"\n  {'figure':58} {'ours':>12} {'baseline':>14} {'ratio':>9}  target")
    source = child("2,3,3,2", "sigmoid", "exact")
    row("exact proof, the source text's [2,3,3,2], sigmoid", seconds(source["seconds"]))
    fast, reference = child("4,8,8,4", "generic", "exact", "symengine"), child("4,8,8,4", "generic", "exact")
    row("exact proof [4,8,8,4]: symengine vs sympy backend", seconds(fast["seconds"]),
        seconds(reference["seconds"]), f"{reference['seconds'] / fast['seconds']:.0f}×")
    general = child("-", "every", "general")
    row("general proof, every architecture, every activation", seconds(general["seconds"]), target="< 10 s")
    if not quick:
        for method in ("layerwise", "random"):
            r = child("784,100,10", "sigmoid", method)
            row(f"{method} proof, MNIST [784,100,10] (79,510 weights)", seconds(r["seconds"]),
                target="< 60 s" if method == "layerwise" else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the runs that take a minute each")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}")
    numeric_figures(args.quick)
    symbolic_figures(args.quick)


if __name__ == "__main__":
    main()
