"""Benchmark the exact weight-by-weight proof and the compiled direct form.

    python benchmarks/bench_symbolic.py            # every part below
    python benchmarks/bench_symbolic.py --quick    # [2,3,3,2] only
    python benchmarks/bench_symbolic.py --part symengine    # one part: decide, ladder, symengine, direct

Parts: ``decide``: the source text's network, every loss, its decision step against a naive expand;
``ladder``: the largest network proven within the budget, sympy and symengine; ``symengine``: the
symengine backend's ∂E/∂w by the chain rule through E's graph against the previous differentiation
(``se.diff`` and a search for its ``Subs`` nodes, still the fallback; the child forces it; the expansion
step after it is today's in both), ratio per network in the same run; ``direct``: the compiled direct form by the chain rule (:mod:`gradproof.numeric.compiled.direct`)
against ``sympy.diff`` + ``lambdify(cse=True)``, the previous path.

Each configuration runs in a fresh interpreter (sympy's caches would otherwise make later runs look
fast); "prove s" is the whole proof's own time (``Proof.seconds``: diff, recurrence, decision, lemmas),
not interpreter start. The decision step is then timed again in the same process on the same
expressions against a baseline, the naive ``sympy.expand(direct − claimed) == 0``. Memory is the
process's peak resident set (interpreter and sympy included).
"""

from __future__ import annotations

import argparse
import json
import os
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
backend, path = sys.argv[5], sys.argv[6]
if path == "previous":  # every weight by se.diff and its Subs nodes, as before the chain rule
    from gradproof.derive.symbolic.chain import ChainRule
    ChainRule.derivatives = lambda self, weights: [None] * len(weights)
proof = prove(Network.from_spec(layers, activation, loss), backend=backend)
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


DIRECT_CHILD = r"""
import json, sys, time
start = time.perf_counter()
import sympy as sp
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.functions import LAMBDIFY_MODULES
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import direct_gradients
from gradproof.numeric.compiled.lambdified import CompiledGradient
imported = time.perf_counter()
layers, activation, loss, path = sys.argv[1:5]
network = Network.from_spec(layers, activation, loss)
if path == "previous":
    sym = SymbolicNetwork(network)
    entries = [entry for matrix in direct_gradients(sym) for entry in matrix]
    args = [[list(sym.wbar[l].row(r)) for r in range(sym.wbar[l].rows)] for l in range(len(sym.wbar))]
    sp.lambdify([args, list(sym.x), list(sym.y)], entries, modules=LAMBDIFY_MODULES, cse=True)
else:
    CompiledGradient(network, "direct", limit=None).compile()
done = time.perf_counter()
print(json.dumps({"weights": network.n_weights, "compile": done - imported, "wall": done - start}))
"""


def child(code: str, argv: list[str], timeout: float) -> dict | None:
    """One fresh interpreter running ``code``; its JSON line, or None past ``timeout`` seconds."""
    try:
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


def run(layers: str, activation: str, loss: str, baseline: bool, timeout: float, backend: str = "sympy",
        path: str = "current") -> dict | None:
    """One proof in a fresh interpreter (``path="previous"``: symengine's ∂E/∂w by se.diff, as before)."""
    return child(CHILD, [layers, activation, loss, str(int(baseline)), backend, path], timeout)


LADDER = ("2,3,3,2", "3,5,5,3", "4,6,6,4", "4,8,8,4", "5,10,10,5", "6,12,12,6", "8,16,16,8", "10,20,20,10",
          "12,24,24,12", "16,32,32,16", "20,40,40,20")


def decide_part() -> None:
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


def ladder_part(budget: float) -> None:
    for backend in ("sympy", "symengine"):
        print(f"\nLargest network proven within {budget:.0f} s, {backend} (generic activation, half-sse; "
              "fresh process each, the proof's own seconds)")
        for layers in LADDER:
            start = time.perf_counter()
            r = run(layers, "generic", "half-sse", baseline=False, timeout=budget + 30, backend=backend)
            if r is None or r["seconds"] > budget:
                wall = time.perf_counter() - start
                print(f"  [{layers}]: over the budget ({wall:.0f} s wall)")
                break
            print(f"  [{layers}]: {r['weights']} weights, proven={r['ok']} in {r['seconds']:.2f} s, "
                  f"peak {r['peak_mb']:.0f} MB")


def symengine_part(budget: float) -> None:
    print(f"\nsymengine backend: ∂E/∂w by the chain rule against the previous path (se.diff + Subs search), "
          f"fresh process each, the proof's own seconds; previous stopped past {budget:.0f} s")
    print(f"  {'network':14} {'activation':10} {'loss':9} {'weights':>7} {'chain rule':>11} {'previous':>9} "
          f"{'ratio':>7}  verdicts")
    for layers, activation, loss in (("2,3,3,2", "generic", "half-sse"), ("4,8,8,4", "generic", "half-sse"),
                                     ("4,8,8,4", "sigmoid", "bce"), ("6,12,12,6", "generic", "half-sse"),
                                     ("8,16,16,8", "generic", "half-sse"), ("8,16,16,8", "sigmoid", "mse")):
        new = run(layers, activation, loss, baseline=False, timeout=budget + 30, backend="symengine")
        old = run(layers, activation, loss, baseline=False, timeout=budget + 30, backend="symengine",
                  path="previous")
        new_s = f"{new['seconds']:.2f} s" if new else "timeout"
        old_s = f"{old['seconds']:.2f} s" if old else f"> {budget:.0f} s"
        ratio = f"{old['seconds'] / new['seconds']:.0f}x" if old and new else (
            f"> {budget / new['seconds']:.0f}x" if new else "—")
        same = "both proven" if old and new and old["ok"] and new["ok"] else (
            f"chain rule ok={new['ok']}" if new else "—")
        print(f"  [{layers}]{'':{12 - len(layers)}} {activation:10} {loss:9} {new['weights'] if new else '':>7} "
              f"{new_s:>11} {old_s:>9} {ratio:>7}  {same}")


def direct_part(budget: float) -> None:
    print(f"\nThe compiled direct form: chain rule on E's graph against sympy.diff + lambdify(cse=True), "
          f"fresh process each; compile s (after imports) and the process's wall s; previous stopped past "
          f"{budget:.0f} s")
    print(f"  {'network':14} {'activation':10} {'loss':10} {'weights':>7} {'chain rule':>11} {'wall':>7} "
          f"{'previous':>9} {'ratio':>7}")
    for layers, activation, loss, previous in (
            ("2,3,3,2", "sigmoid", "half-sse", True), ("3,5,4,2", "sigmoid", "half-sse", True),
            ("2,4,4,4,1", "sigmoid", "half-sse", True), ("3,5,4,3", "sigmoid", "softmax-ce", True),
            ("4,8,8,4", "sigmoid", "half-sse", True), ("8,16,16,8", "sigmoid", "half-sse", False),
            ("8,16,16,8", "tanh,tanh,softmax", "softmax-ce", False), ("10,40,10", "relu,sigmoid", "mse", False)):
        new = child(DIRECT_CHILD, [layers, activation, loss, "current"], budget + 30)
        old = child(DIRECT_CHILD, [layers, activation, loss, "previous"], budget + 30) if previous else None
        old_s = f"{old['compile']:.2f} s" if old else ("not run" if not previous else f"> {budget:.0f} s")
        ratio = f"{old['compile'] / new['compile']:.0f}x" if old else "—"
        print(f"  [{layers}]{'':{12 - len(layers)}} {activation[:10]:10} {loss:10} {new['weights']:>7} "
              f"{new['compile']:9.2f} s {new['wall']:5.2f} s {old_s:>9} {ratio:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the source text's network only")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds allowed per ladder step")
    parser.add_argument("--part", choices=("all", "decide", "ladder", "symengine", "direct"), default="all")
    args = parser.parse_args()
    import sympy
    print(f"sympy {sympy.__version__}, ground types {sympy.polys.domains.GROUND_TYPES}, "
          f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.part in ("all", "decide"):
        decide_part()
    if args.quick:
        return
    if args.part in ("all", "symengine"):
        symengine_part(args.budget)
    if args.part in ("all", "direct"):
        direct_part(args.budget)
    if args.part in ("all", "ladder"):
        ladder_part(args.budget)


if __name__ == "__main__":
    main()
