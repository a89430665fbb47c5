"""One warm figure of ``run.py``, measured in this process and printed as one JSON line.

    python benchmarks/figures.py NAME [--repeats N] [--external]

It imports whichever gradproof comes first on the path, so ``run.py`` measures an older gradproof by
running this file with that one first on ``PYTHONPATH``. Each figure is the median of ``--repeats`` runs
after one warm-up; with ``--external`` the baselines (torch, jax: each optional, skipped with a note when
not installed) run interleaved with gradproof, run for run. One BLAS thread, one torch thread, one XLA
thread throughout.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

from gradproof.derive.runtime.threads import default_blas_threads  # noqa: E402

default_blas_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from gradproof.derive.model.network import Network  # noqa: E402
from gradproof.numeric.checks.check import check_gradient, matrix_psi  # noqa: E402
from gradproof.numeric.samples import random_sample  # noqa: E402
from torch_baseline import torch, torch_error, torch_weights  # noqa: E402

MID, WIDE, DENSE = "64,128,128,10", "256,256,128,10", "3000,517,256,6"
FIGURES = {}


def figure(name):
    def register(function):
        FIGURES[name] = function
        return function
    return register


def medians(repeats: int, ours, others: dict) -> dict:
    """Median seconds of ``ours`` and of each of ``others`` (name → run), interleaved run for run after
    one warm-up each. Each round runs them in a new order (a shuffle seeded by the round), so that no
    side always runs right after the same other one (what ran just before changes a run's time: at 1.69M weights, the memory floor took
    1.09 ms right after itself and 1.15–1.18 ms right after jax or torch, in one process)."""
    runs = list({"ours": ours, **others}.items())
    times = {name: [] for name, _ in runs}
    for _, run in runs:
        run()
    for turn in range(repeats):
        for name, run in random.Random(turn).sample(runs, len(runs)):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) for name, found in times.items()}


def jax_gradient(sample):
    """jax.jit(jax.grad(E)) for the sample's network (sigmoid, ½·Σ(a − y)², the mean), float64; None
    where jax is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    x, y = (jnp.asarray(c) for c in sample.columns())

    def error(wbar):
        values = x
        for w in wbar:
            values = jax.nn.sigmoid(w @ jnp.concatenate([jnp.ones((1, values.shape[1])), values]))
        return 0.5 * jnp.sum((values - y) ** 2) / values.shape[1]
    grad, weights = jax.jit(jax.grad(error)), [jnp.asarray(w) for w in sample.wbar]
    return lambda: [g.block_until_ready() for g in grad(weights)]


def torch_backward(sample):
    """torch's forward + backward on the same weights (None without torch)."""
    if torch is None:
        return None
    error, weights = torch_error(sample), torch_weights(sample)

    def run():
        for w in weights:
            w.grad = None
        error(*weights).backward()
    return run


def _present(others: dict) -> dict:
    return {name: run for name, run in others.items() if run is not None}


def _missing(others: dict) -> list:
    return [name for name, run in others.items() if run is None]


def _result(times: dict, repeats: int, **extra) -> dict:
    ours = times.pop("ours")
    return {"seconds": ours, "repeats": repeats, "baselines": times, **extra}


@figure("full-mid")
def full_mid(repeats, external):
    sample = random_sample(Network.from_spec(MID), seed=0)
    times = medians(repeats, lambda: check_gradient(sample, direct=False), {})
    extra = {}
    if external and torch is not None:  # gradcheck takes seconds: one run
        error, weights = torch_error(sample), torch_weights(sample)
        start = time.perf_counter()
        torch.autograd.gradcheck(error, tuple(weights))
        times["torch.autograd.gradcheck"] = time.perf_counter() - start
        extra["note"] = "gradcheck: one run"
    return _result(times, repeats, missing=[] if torch is not None or not external else ["torch"], **extra)


@figure("full-batch")
def full_batch(repeats, external):
    sample = random_sample(Network.from_spec(MID), seed=0, batch=32)
    return _result(medians(repeats, lambda: check_gradient(sample, direct=False), {}), repeats)


@figure("full-wide")
def full_wide(repeats, external):
    sample = random_sample(Network.from_spec(WIDE), seed=0)
    return _result(medians(repeats, lambda: check_gradient(sample, direct=False), {}), repeats)


def memory_floor(sample):
    """What any gradient of the network must move at least: every W̄[l] read once and an array of its size
    written once (``np.copyto`` into buffers kept between runs, as the gradients' are). Where the weights
    outgrow the caches, a gradient's time over this one says how far it is from the memory's bound."""
    buffers = [np.empty_like(w) for w in sample.wbar]

    def run():
        for w, buffer in zip(sample.wbar, buffers):
            np.copyto(buffer, w)
    return run


def _psi(spec: str, repeats: int, external: bool) -> dict:
    sample = random_sample(Network.from_spec(spec), seed=0)
    x, y = sample.columns()
    psi = matrix_psi(sample.network)
    others = {"jax.jit(jax.grad)": jax_gradient(sample), "torch forward+backward": torch_backward(sample),
              "memory floor: read W̄, write its size (np.copyto)": memory_floor(sample)} if external else {}
    times = medians(repeats, lambda: psi(sample.wbar, x, y, "mean"), _present(others))
    return _result(times, repeats, missing=_missing(others))


@figure("psi-mid")
def psi_mid(repeats, external):
    return _psi(MID, repeats, external)


@figure("psi-dense")
def psi_dense(repeats, external):
    return _psi(DENSE, repeats, external)


def _direction(spec: str, repeats: int, external: bool) -> dict:
    sample = random_sample(Network.from_spec(spec), seed=0)
    others = {}
    if external:
        others["torch gradcheck fast_mode"] = None
        if torch is not None:
            error, weights = torch_error(sample), torch_weights(sample)
            others["torch gradcheck fast_mode"] = lambda: torch.autograd.gradcheck(error, tuple(weights),
                                                                                   fast_mode=True)
    start = time.perf_counter()
    result = check_gradient(sample, direct=False, tier="direction")
    first = time.perf_counter() - start
    times = medians(repeats, lambda: check_gradient(sample, direct=False, tier="direction"), _present(others))
    return _result(times, repeats, first_call=first, ok=bool(result.ok), missing=_missing(others))


@figure("direction-mid")
def direction_mid(repeats, external):
    return _direction(MID, repeats, external)


@figure("direction-dense")
def direction_dense(repeats, external):
    return _direction(DENSE, repeats, external)


@figure("full-dense")
def full_dense(repeats, external):
    sample = random_sample(Network.from_spec(DENSE), seed=0)
    psi = matrix_psi(sample.network)
    times = medians(repeats, lambda: check_gradient(sample, psi, direct=False), {})
    tracemalloc.start()
    check_gradient(sample, psi, direct=False)
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return _result(times, repeats, peak_mb=peak)


@figure("central-dense")
def central_dense(repeats, external):
    sample = random_sample(Network.from_spec(DENSE), seed=0)
    start = time.perf_counter()
    result = check_gradient(sample, matrix_psi(sample.network), direct=False, method="central")
    return {"seconds": time.perf_counter() - start, "repeats": 1, "baselines": {}, "ok": bool(result.ok)}


@figure("atari-direction")
def atari_direction(repeats, external):
    sample = random_sample(Network.atari(), seed=0)
    start = time.perf_counter()
    result = check_gradient(sample, tier="direction")
    first = time.perf_counter() - start
    times = medians(repeats, lambda: check_gradient(sample, tier="direction"), {})
    return _result(times, repeats, first_call=first, ok=bool(result.ok),
                   tolerance=float(result.direction.tolerance))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(FIGURES))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--external", action="store_true", help="also time torch/jax, interleaved")
    args = parser.parse_args()
    found = FIGURES[args.name](args.repeats, args.external)
    found["numpy"] = np.__version__
    print(json.dumps(found))


if __name__ == "__main__":
    main()
