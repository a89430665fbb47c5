"""Benchmark the exact weight-by-weight proof.

    python benchmarks/bench_symbolic.py            # the source text's network, every loss; the ladder
    python benchmarks/bench_symbolic.py --quick    # [2,3,3,2] only

Each configuration runs in a fresh interpreter (sympy's caches would otherwise make later runs look
fast); "prove s" is the whole proof's own time (``Proof.seconds``: diff, recurrence, decision, lemmas),
not interpreter start. The decision step is then timed again in the same process on the same
expressions against a baseline, the naive ``sympy.expand(direct − claimed) == 0``. Memory is the
process's peak resident set (interpreter and sympy included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
import sympy as sp
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
layers, activation, loss, baseline = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
proof = prove(Network.from_spec(layers, activation, loss))
out = {"ok": proof.ok, "weights": proof.total, "seconds": proof.seconds,
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if baseline:
    differences = [w.direct - w.claimed for w in proof.weights]
    start = time.perf_counter()
    ours = all(d.is_zero for d in decide_zero(differences))
    out["decide_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    out["baseline_ok"] = all(sp.expand(d) == 0 for d in differences)
    out["baseline_seconds"] = time.perf_counter() - start
    assert ours
print(json.dumps(out))
"""


def run(layers: str, activation: str, loss: str, baseline: bool, timeout: float) -> dict | None:
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, layers, activation, loss, str(int(baseline))],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the source text's network only")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds allowed per ladder step")
    args = parser.parse_args()
    import sympy
    print(f"sympy {sympy.__version__}, ground types {sympy.polys.domains.GROUND_TYPES}, "
          f"python {sys.version.split()[0]}")
    print("\n[2,3,3,2], 29 weights: the whole proof in a fresh process; its decision step against "
          "expand(direct − claimed) == 0")
    print(f"{'activation':10} {'loss':11} {'proven':>7} {'prove s':>8} {'peak MB':>8} {'decide s':>9} "
          f"{'expand s':>9} {'ratio':>7}  expand decided")
    for activation in ("generic", "sigmoid"):
        for loss in ("half-sse", "mse", "bce", "softmax-ce"):
            r = run("2,3,3,2", activation, loss, baseline=True, timeout=600)
            ratio = r["baseline_seconds"] / r["decide_seconds"]
            print(f"{activation:10} {loss:11} {str(r['ok']):>7} {r['seconds']:8.3f} {r['peak_mb']:8.0f} "
                  f"{r['decide_seconds']:9.3f} {r['baseline_seconds']:9.3f} {ratio:6.1f}x  "
                  f"{'yes' if r['baseline_ok'] else 'no (rational: expand cannot cancel)'}")
    if args.quick:
        return
    print(f"\nLargest network proven within {args.budget:.0f} s (generic activation, half-sse)")
    for layers in ("2,3,3,2", "3,5,5,3", "4,6,6,4", "4,8,8,4", "5,10,10,5", "6,12,12,6", "8,16,16,8"):
        start = time.perf_counter()
        r = run(layers, "generic", "half-sse", baseline=False, timeout=args.budget + 30)
        if r is None or r["seconds"] > args.budget:
            wall = time.perf_counter() - start
            print(f"  [{layers}]: over the budget ({wall:.0f} s wall)")
            break
        print(f"  [{layers}]: {r['weights']} weights, proven={r['ok']} in {r['seconds']:.2f} s, "
              f"peak {r['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
