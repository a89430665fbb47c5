"""The source text's Atari network (Nature-DQN, 3 actions, 1,685,667 weights): every figure of issue 13 in
one run.

    python benchmarks/bench_atari.py [--seed N] [--repeats N] [--gradcheck-budget SECONDS]

- the full check (every weight against its forward-mode complex step, tolerances, verdict): in a fresh
  process (``gradproof check --network atari``: wall time, the CPU time of that process, its peak memory)
  and warm in this one;
- the direction check, first call and warm;
- gradproof's Ψ gradient against torch's forward + backward on the same weights (float64, one thread for
  both), their agreement and the time ratio;
- ``torch.autograd.gradcheck`` on the first convolution's weights (its 8,224 weights and biases): timed on
  two subsets and fitted t = a + b·n, run in full where the fit fits the budget; extrapolated to the whole
  network at b per weight (each entry costs gradcheck two forward passes of the whole network, whatever
  layer it sits in);
- the randomized identity test of the recurrence at the real size, and the exact proof of a small
  convolutional network, each in a fresh process.

One BLAS thread and one torch thread throughout. On a shared machine wall times are noisy: CPU times
(``process_time``) are printed beside them.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gradproof.derive.runtime.threads import default_blas_threads  # noqa: E402

default_blas_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from gradproof.derive.model.network import Network  # noqa: E402
from gradproof.numeric.checks.check import check_gradient  # noqa: E402
from gradproof.numeric.compiled.conv import conv_psi_gradient  # noqa: E402
from gradproof.numeric.samples import random_sample  # noqa: E402
from torch_baseline import conv_torch_error, torch  # noqa: E402

ROWS = []


def row(figure: str, ours: str, baseline: str = "—", ratio: str = "—") -> None:
    ROWS.append((figure, ours, baseline, ratio))
    print(f"  {figure:66} {ours:>22} {baseline:>22} {ratio:>8}", flush=True)


def timed(run, repeats: int):
    """(first wall, best wall, best CPU) over 1 + ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats + 1):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return walls[0], min(walls[1:]), min(cpus[1:])


def ms(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def fresh(command: list[str]) -> tuple[float, float, str]:
    """(wall, CPU of the child, its stdout) of one command in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed: {done.stderr}")
    return wall, cpu, done.stdout


def full_check(seed: int) -> None:
    cli = [sys.executable, "-m", "gradproof", "check", "--network", "atari", "--seed", str(seed), "--json"]
    wall, cpu, out = fresh(cli)
    report = json.loads(out)
    row(f"full check, all {report['weights']:,} weights, fresh process (`gradproof check --network atari`)",
        f"{wall:.2f} s (CPU {cpu:.2f} s)")
    row(f"  … its verdict, the check's own time, peak memory (max RSS)",
        f"{'passed' if report['ok'] else 'FAILED'}, {report['seconds']:.2f} s, {report['peak_memory_mb']:.0f} MB")
    sample = random_sample(Network.atari(), seed=seed)
    first, best, cpu = timed(lambda: check_gradient(sample), 2)
    row("full check, warm (same process; best of 2 after a first call)", f"{best:.2f} s (CPU {cpu:.2f} s)",
        f"first {first:.2f} s")


def direction(seed: int, repeats: int) -> None:
    sample = random_sample(Network.atari(), seed=seed)
    result = check_gradient(sample, tier="direction")
    first, best, cpu = timed(lambda: check_gradient(sample, tier="direction"), repeats)
    d = result.direction
    row("direction check ⟨∇E, v⟩ vs complex step along v, warm (first call)", f"{ms(best)} (CPU {ms(cpu)})",
        f"first {ms(first)}")
    row("  … the difference and its derived tolerance", f"{abs(d.analytic - d.finite_difference):.1e}",
        f"tol {d.tolerance:.1e}")


def psi_against_torch(seed: int, repeats: int) -> None:
    sample = random_sample(Network.atari(), seed=seed)
    x, y = sample.columns()
    network = sample.network
    ours = conv_psi_gradient(network, sample.wbar, x, y)
    _, best, cpu = timed(lambda: conv_psi_gradient(network, sample.wbar, x, y), repeats)
    if torch is None:
        row("Ψ gradient (numpy forward + backward)", f"{ms(best)} (CPU {ms(cpu)})", "torch not installed")
        return
    weights = [torch.tensor(w, requires_grad=True) for w in sample.wbar]
    error = conv_torch_error(sample)

    def step():
        for w in weights:
            w.grad = None
        error(*weights).backward()
    _, base, base_cpu = timed(step, repeats)
    theirs = [w.grad.numpy() for w in weights]
    norm = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(ours, theirs)) / sum(np.sum(b ** 2) for b in theirs))
    row("Ψ gradient vs torch forward + backward (float64, 1 thread), best", f"{ms(best)} (CPU {ms(cpu)})",
        f"{ms(base)} (CPU {ms(base_cpu)})", f"{base / best:.2f}×")
    row("  … agreement with torch autograd (‖ours − torch‖/‖torch‖)", f"{norm:.1e}")


def gradcheck_entries(sample, count: int) -> tuple[float, float, bool]:
    """(wall, CPU, passed) of gradcheck (fast_mode=False) on the first ``count`` entries of W̄[0]."""
    error = conv_torch_error(sample)
    fixed = [torch.tensor(w) for w in sample.wbar]
    first = fixed[0].reshape(-1)

    def f(part):
        w0 = torch.cat([part, first[count:]]).reshape(fixed[0].shape)
        return error(w0, *fixed[1:])
    part = first[:count].clone().requires_grad_(True)
    start, cpu = time.perf_counter(), time.process_time()
    ok = torch.autograd.gradcheck(f, (part,), fast_mode=False, raise_exception=False)
    return time.perf_counter() - start, time.process_time() - cpu, ok


def gradcheck(seed: int, budget: float, sizes=(512, 2048)) -> None:
    if torch is None:
        row("torch.autograd.gradcheck", "—", "torch not installed")
        return
    sample = random_sample(Network.atari(), seed=seed)
    total = sample.network.layers[0].n_weights
    (w1, c1, ok1), (w2, c2, ok2) = (gradcheck_entries(sample, n) for n in sizes)
    per, per_cpu = (w2 - w1) / (sizes[1] - sizes[0]), (c2 - c1) / (sizes[1] - sizes[0])
    est, est_cpu = w1 + per * (total - sizes[0]), c1 + per_cpu * (total - sizes[0])
    row(f"gradcheck, {sizes[0]} and {sizes[1]} entries of the first convolution (passed: {ok1 and ok2})",
        f"{w1:.1f} s, {w2:.1f} s", f"{per * 1e3:.1f} ms/entry", f"CPU {per_cpu * 1e3:.1f}")
    if est <= budget:
        wall, cpu, ok = gradcheck_entries(sample, total)
        row(f"gradcheck, the first convolution's {total:,} weights (passed: {ok})",
            f"{wall:.1f} s (CPU {cpu:.1f} s)", f"fit {est:.0f} s")
    else:
        row(f"gradcheck, the first convolution's {total:,} weights, fitted (over the {budget:.0f} s budget)",
            f"{est:.0f} s (CPU {est_cpu:.0f} s)")
    whole = sample.network.n_weights
    hours, hours_cpu = per * whole / 3600, per_cpu * whole / 3600
    row(f"gradcheck, all {whole:,} weights, extrapolated at the per-entry time", f"{hours:.1f} h (CPU {hours_cpu:.1f} h)")


def proofs() -> None:
    wall, cpu, out = fresh([sys.executable, "-m", "gradproof", "prove", "--network", "atari", "--method", "random",
                            "--rounds", "2", "--json"])
    proof = json.loads(out)
    row("randomized identity test of the recurrence, Atari network, 2 rounds (fresh)",
        f"{proof['seconds']:.1f} s (process {wall:.1f} s)", f"{proof['proven']:,}/{proof['total']:,} agree")
    small = "1x4x4,conv2k2s2p1,conv2k2s1,2"
    wall, cpu, out = fresh([sys.executable, "-m", "gradproof", "prove", "--layers", small, "--activation", "generic",
                            "--json"])
    proof = json.loads(out)
    row(f"exact proof, [{small}] (46 weights), generic activation (fresh)", f"{proof['seconds']:.2f} s",
        f"{proof['proven']}/{proof['total']} proven")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--gradcheck-budget", type=float, default=60.0)
    args = parser.parse_args()
    print(f"numpy {np.__version__}, torch {getattr(torch, '__version__', '—')}, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    full_check(args.seed)
    direction(args.seed, args.repeats)
    psi_against_torch(args.seed, args.repeats)
    gradcheck(args.seed, args.gradcheck_budget)
    proofs()
    print("\n| figure | gradproof | baseline | ratio |\n|---|---|---|---|")
    for figure, ours, base, ratio in ROWS:
        print(f"| {figure} | {ours} | {base} | {ratio} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
