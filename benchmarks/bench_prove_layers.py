"""Timings of the layer proof by tracing (issue 12): every correct zoo layer at its zoo size, and the largest
convolution proven within 60 s.

    python benchmarks/bench_prove_layers.py [--limit 60] [--only NAME,…] [--skip-zoo] [--skip-conv]

Each proof runs in a fresh forked child of this (warm) process, stopped at the limit; the figure is the
child's prove_layer time (tracing, derivatives, the exact decision, the float64 cross-check). The
convolution ladder grows x (N, C, H, W) and w (O, C, 3, 3), stride 1, padding 1, for the zoo's loop
(conv_naive) and im2col (conv_im2col) versions, and stops at the first size that does not finish.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gradproof.derive.runtime.threads import default_blas_threads  # noqa: E402

default_blas_threads()

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sympy  # noqa: E402

from gradproof import prove_layer  # noqa: E402
from gradproof.derive.runtime.forked import bounded  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.zoo import layers as zoo  # noqa: E402
from tests.zoo.cases import CASES  # noqa: E402

#: (N, C, H, W, O): x N×C×H×W, w O×C×3×3
CONV_LADDER = ((1, 2, 4, 4, 2), (1, 3, 7, 7, 4), (2, 3, 7, 7, 4), (2, 3, 8, 8, 4), (2, 3, 8, 8, 6),
               (2, 3, 8, 8, 8), (2, 4, 10, 10, 8), (4, 4, 12, 12, 8), (4, 8, 12, 12, 8), (4, 8, 16, 16, 16))


def _error(error: BaseException | None) -> str:
    """What a case that raised (or whose process ended) reports; the benchmark goes on."""
    return "error: the process ended without an answer" if error is None else f"error: {type(error).__name__}: {error}"


def prove_case(name: str):
    case = CASES[name]
    args = case.make_args(np.random.default_rng(0))
    proof = prove_layer(case.forward, case.backward, args, kind=None if case.backward else "loss",
                        inputs=list(case.differentiable))
    return proof.status, proof.proven, proof.total, proof.seconds, proof.sizes_text()


def prove_conv(version: str, n: int, c: int, h: int, w: int, o: int):
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, 3, 3)), rng.standard_normal(o),
            {"stride": 1, "pad": 1})
    forward, backward = {"naive": (zoo.conv_forward_naive, zoo.conv_backward_naive),
                         "im2col": (zoo.conv_forward_im2col, zoo.conv_backward_im2col)}[version]
    proof = prove_layer(forward, backward, args)
    return proof.status, proof.proven, proof.total, proof.seconds, proof.sizes_text()


def zoo_figures(limit: float, only) -> None:
    print(f"every correct zoo layer at its zoo size (limit {limit:g} s, warm process, forked child per proof)")
    for name, case in CASES.items():
        if not case.deterministic or (only and name not in only):
            continue
        start = time.perf_counter()
        answer = bounded(lambda: prove_case(name), limit, _error)
        if answer is None:
            print(f"  {name:28} not finished within {limit:g} s")
        elif isinstance(answer, str):
            print(f"  {name:28} {answer}")
        else:
            status, proven, total, seconds, sizes = answer
            print(f"  {name:28} {status:9} {proven:4}/{total:<4} {seconds:7.2f} s   {sizes}")
        sys.stdout.flush()
        del start


def conv_figures(limit: float) -> None:
    print(f"the largest convolution proven within {limit:g} s (w O×C×3×3, stride 1, padding 1)")
    for version in ("im2col", "naive"):
        for n, c, h, w, o in CONV_LADDER:
            answer = bounded(lambda: prove_conv(version, n, c, h, w, o), limit, _error)
            size = f"x {n}×{c}×{h}×{w}, w {o}×{c}×3×3"
            if not isinstance(answer, tuple):
                print(f"  {version:6} {size:28} {answer or f'not finished within {limit:g} s'}")
                break
            status, proven, total, seconds, _ = answer
            print(f"  {version:6} {size:28} {status} {proven}/{total} entries in {seconds:.1f} s")
            sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--skip-zoo", action="store_true")
    parser.add_argument("--skip-conv", action="store_true")
    args = parser.parse_args()
    print(f"command: python benchmarks/bench_prove_layers.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, sympy {sympy.__version__}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start (other processes slow these figures)")
    only = {s for s in args.only.split(",") if s}
    if not args.skip_zoo:
        zoo_figures(args.limit, only)
    if not args.skip_conv:
        conv_figures(args.limit)


if __name__ == "__main__":
    main()
