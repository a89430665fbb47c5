"""Timings of the layer check (issue 11): a course-sized convolution, the zoo's modules through
``gradproof check-layers``, and torch's gradcheck on the same convolution as a baseline.

    python benchmarks/bench_layers.py

Warm figures are medians of 3 runs in this process after one warm-up run; fresh figures are the wall time
of a new ``gradproof`` process (interpreter start and imports included), median of 3.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gradproof.derive.runtime.threads import default_blas_threads  # noqa: E402

default_blas_threads()

import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import gradproof  # noqa: E402
from gradproof.derive.usercode import guard  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "zoo"))
import layers as zoo  # noqa: E402

CONV = "x 2×3×7×7, w 4×3×3×3, stride 1, pad 1"


def conv_args():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4),
            {"stride": 1, "pad": 1})


def median_warm(run, repeats: int = 3) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_fresh(argv: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gradproof", *argv], capture_output=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_gradcheck_conv() -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x, w, b, _ = conv_args()
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    conv = lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=1, padding=1)  # noqa: E731
    return median_warm(lambda: torch.autograd.gradcheck(conv, tensors))


def guard_per_call() -> list:
    """What the guard adds to one call of your code, warm (median of 2001 calls of a function doing nothing):
    the whole guard (``guard.call``: the watch of the code gradproof computes with, stdout, the time limit)
    and one call inside a guarded sweep (``guard.kept``, what each call of a finite-difference sweep pays)."""
    def inside():
        with guard.kept("a no-op"):
            pass

    guard.ready()
    bare = median_warm(lambda: None, 2001)
    return [("the guard around one call (guard.call), a function doing nothing", median_warm(
                lambda: guard.call(lambda: None, what="a no-op"), 2001), f"the call alone {bare * 1e6:.2f} µs"),
            ("one call inside a guarded sweep (guard.kept)", guard.call(lambda: median_warm(inside, 2001)).value, "")]


def main() -> None:
    rows = guard_per_call()
    for name, forward, backward in (("im2col (vectorised)", zoo.conv_forward_im2col, zoo.conv_backward_im2col),
                                    ("naive (loops)", zoo.conv_forward_naive, zoo.conv_backward_naive)):
        result = gradproof.check_layer(forward, backward, conv_args())
        coverage = "; ".join(f"{r.gradient}: {r.coverage}" for r in result.inputs)
        rows.append((f"check_layer, convolution {CONV}, {name}", median_warm(
            lambda: gradproof.check_layer(forward, backward, conv_args())), f"{result.status}; {coverage}"))
    full = median_warm(lambda: gradproof.check_layer(zoo.conv_forward_naive, zoo.conv_backward_naive, conv_args(),
                                                     entries="all"), repeats=1)
    rows.append((f"check_layer, convolution {CONV}, naive, entries='all'", full, "every entry"))
    baseline = torch_gradcheck_conv()
    if baseline is not None:
        rows.append((f"baseline: torch.autograd.gradcheck of conv2d, {CONV}", baseline, "torch's own conv"))
    for module in ("tests/zoo/course_layers.py", "tests/zoo/layers.py"):
        rows.append((f"gradproof check-layers {module} (fresh process)", median_fresh(["check-layers", module]), ""))
    width = max(len(r[0]) for r in rows)
    for label, seconds, note in rows:
        print(f"{label.ljust(width)}  {seconds:7.3f} s  {note}")


if __name__ == "__main__":
    main()
