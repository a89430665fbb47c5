"""Every performance figure of the README in one run, each printed with how it was measured.

    python benchmarks/run.py                   # every figure (several minutes on 2 cores)
    python benchmarks/run.py --quick           # without the central difference over 1.69M weights and MNIST
    python benchmarks/run.py --before main     # and each figure of another gradproof (a git ref or a folder)
    python benchmarks/run.py --markdown        # the table as the README shows it
    python benchmarks/run.py --only warm --figure psi-mid   # one warm figure (figures.py's name), or several

How each figure is measured is printed beside it:

- **fresh**: a new ``python -m gradproof …`` process per run, wall time from before it starts to its exit
  (and the ``seconds`` it reports under ``--json``), the median of ``--fresh-repeats`` runs;
- **warm**: ``figures.py`` in a child process, the median of its repeats after one warm-up (the first
  call, where it matters, separately); external baselines (torch, jax) run interleaved with gradproof, run
  for run, in the same child;
- **proof**: each proof in a fresh interpreter (sympy's caches would flatter later runs), the ``seconds``
  the proof reports.

``--before REF`` builds that git ref of this repository (``git archive``, ``pip install --no-deps
--target`` into a temporary folder, nothing else touched) or takes a folder where a gradproof is installed
that way, and measures every figure of it in the same run, alternating with this tree run for run. One
BLAS thread (and one torch, one XLA thread) for every side. The load average (1 min) is printed per row:
the machine may be shared. torch, jax and symengine are optional: their rows say "not installed".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ROWS: list[dict] = []
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


class Side:
    """One gradproof to measure: this tree (its installed, editable self) or another on ``PYTHONPATH``."""

    def __init__(self, name: str, path: str | None, workdir: str):
        self.name, self.path, self.workdir = name, path, workdir
        self.env = dict(ENV, GRADPROOF_CACHE=os.path.join(workdir, f"cache-{name}"))
        if path:
            self.env["PYTHONPATH"] = path + os.pathsep + self.env.get("PYTHONPATH", "")

    def run(self, args: list[str], timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess]:
        """Wall seconds and the finished process; its CPU seconds (user + system) in ``done.cpu``."""
        before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        done = subprocess.run([sys.executable, *args], cwd=self.workdir, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
        done.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, done

    def json(self, args: list[str], timeout: float = 1800) -> dict | None:
        _, done = self.run(args, timeout)
        lines = done.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            print(f"    ({self.name}: {' '.join(args)} failed: {done.stderr.strip()[-300:]})", flush=True)
            return None


def build(ref: str, workdir: str) -> str:
    """A folder where ``ref`` of this repository is installed (or ``ref`` itself, if it is a folder)."""
    if os.path.isdir(ref):
        return os.path.abspath(ref)
    source, site = os.path.join(workdir, "before-src"), os.path.join(workdir, "before-site")
    os.makedirs(source)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", source], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", site, source], check=True, capture_output=True)
    return site


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def load() -> float:
    return os.getloadavg()[0]


def record(figure: str, how: str, after, before=None, baseline: str = "", baseline_value=None,
           unit: str = "s", note: str = "") -> None:
    row = dict(figure=figure, how=how, after=after, before=before, baseline=baseline,
               baseline_value=baseline_value, unit=unit, note=note, load=load())
    ROWS.append(row)
    print("  " + " | ".join(cells(row)), flush=True)


def show(value, unit: str = "s") -> str:
    if value is None:
        return "—"
    if unit != "s":
        return f"{value:.3g} {unit}".strip() if isinstance(value, float) else f"{value} {unit}".strip()
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def ratio(slow, fast) -> str:
    return f"{slow / fast:.2f}×" if slow and fast else "—"


def cells(row: dict) -> list[str]:
    unit = row["unit"]
    timed = unit == "s"
    return [row["figure"], row["how"], show(row["before"], unit), show(row["after"], unit),
            ratio(row["before"], row["after"]) if timed else "—",
            f"{row['baseline']} {show(row['baseline_value'])}" if row["baseline"] else "—",
            ratio(row["baseline_value"], row["after"]) if row["baseline_value"] else "—",
            f"{row['load']:.1f}", row["note"]]


HEADER = ["figure", "how", "before", "after", "before/after", "baseline (same run)", "baseline/after",
          "load", "note"]


# --- fresh processes ------------------------------------------------------------------------------------

def fresh(sides: list[Side], args: list[str], repeats: int) -> dict:
    """Per side: the medians of wall seconds, CPU seconds and reported ``seconds`` (if the command prints
    JSON), the sides alternating run for run."""
    found = {s.name: {"wall": [], "cpu": [], "reported": []} for s in sides}
    for _ in range(repeats):
        for side in sides:
            wall, done = side.run(["-m", "gradproof", *args])
            found[side.name]["wall"].append(wall)
            found[side.name]["cpu"].append(done.cpu)
            try:
                found[side.name]["reported"].append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
            except (IndexError, KeyError, TypeError, json.JSONDecodeError):
                pass
    return {name: {key: statistics.median(v) if v else None for key, v in runs.items()}
            for name, runs in found.items()}


def fresh_figures(sides: list[Side], repeats: int) -> None:
    for side in sides:  # the small network's per-weight forms on disk, where that gradproof caches them
        side.run(["-m", "gradproof", "check", "--layers", "2,3,3,2"])
    how = f"fresh, median of {repeats}"
    for label, args in [("gradproof --help", ["--help"]),
                        ("check --layers 64,128,128,10 (26,122 weights)", ["check", "--layers", MID, "--json"]),
                        ("check --layers 2,3,3,2 (per-weight forms on disk, if cached)",
                         ["check", "--layers", "2,3,3,2", "--json"]),
                        ("check --network atari --quick (1,685,667 weights)",
                         ["check", "--network", "atari", "--quick", "--json"])]:
        found = fresh(sides, args, repeats)
        before = found.get("before", {})
        for key, text in (("wall", "wall"), ("cpu", "CPU (user + system)"), ("reported", "its reported seconds")):
            if found["after"][key] is not None:
                record(f"{label}: {text}", how, found["after"][key], before.get(key))


# --- warm figures, in figures.py --------------------------------------------------------------------------

MID = "64,128,128,10"
WARM = [  # (figure, name in figures.py, repeats, quick too)
    ("full check, complex step, [64,128,128,10]", "full-mid", 7, True),
    ("full check, 32 samples, [64,128,128,10]", "full-batch", 7, True),
    ("full check, complex step, [256,256,128,10] (99,978 w.)", "full-wide", 7, True),
    ("Ψ gradient, matrix form, [64,128,128,10]", "psi-mid", 2001, True),
    ("Ψ gradient, matrix form, [3000,517,256,6] (1,685,667 w.)", "psi-dense", 101, True),
    ("direction tier (--quick), [64,128,128,10]", "direction-mid", 21, True),
    ("direction tier (--quick), [3000,517,256,6]", "direction-dense", 9, True),
    ("direction tier (--quick), Atari conv network", "atari-direction", 7, True),
    ("full check, complex step, all 1,685,667 weights (dense)", "full-dense", 3, True),
    ("full check, central differences, all 1,685,667 weights", "central-dense", 1, False),
]


def measure_warm(sides: list[Side], name: str, repeats: int, rounds: int) -> dict:
    """Per side, figures.py's result with the least median over ``rounds`` rounds, the sides alternating
    round by round; every side runs the interleaved external baselines too (the same work around its own
    runs), but only this tree the single gradcheck run after them (seconds, not interleaved)."""
    best = {}
    for _ in range(rounds):
        for side in sides:
            external = ["--external"] if side.name == "after" or name != "full-mid" else []
            found = side.json([str(HERE / "figures.py"), name, "--repeats", str(repeats), *external])
            if found and (side.name not in best or found["seconds"] < best[side.name]["seconds"]):
                best[side.name] = found
    return best


def warm_figures(sides: list[Side], quick: bool, rounds: int, only: list[str] | None = None) -> None:
    for label, name, repeats, in_quick in WARM:
        if (quick and not in_quick) or (only and name not in only):
            continue
        found = measure_warm(sides, name, repeats, rounds if name != "central-dense" else 1)
        after, before = found.get("after"), found.get("before")
        how = f"warm, median of {after['repeats'] if after else repeats}" + (f", best of {rounds} rounds"
                                                                           if rounds > 1 else "")
        value = after["seconds"] if after else None
        old = before["seconds"] if before else None
        baselines = (after or {}).get("baselines", {})
        missing = ", ".join(f"{m} not installed" for m in (after or {}).get("missing", []))
        if not baselines:
            record(label, how, value, old, note=missing)
        for base, seconds in baselines.items():
            record(label, how + ", interleaved", value, old, base, seconds, note=missing)
        for key, text in (("first_call", "first call"), ("peak_mb", "peak traced memory")):
            if after and key in after:
                unit = "MB" if key == "peak_mb" else "s"
                record(f"  {label}: {text}", "warm, one run", after[key], before.get(key) if before else None,
                       unit=unit)


# --- proofs ---------------------------------------------------------------------------------------------

PROOF = r"""
import json, sys
from gradproof.derive.model.network import Network
from gradproof.derive.proof.prove import prove
from gradproof.derive.proof.general import prove_general
from gradproof.derive.symbolic.mistakes import MISTAKES
from gradproof.derive.symbolic.recurrence import PSI
layers, activation, method, backend, mistake = (sys.argv[1:] + ["-"])[:5]
if method == "general":
    from gradproof.derive.model.activations import ACTIVATIONS, Elementwise
    proof = prove_general(tuple(n for n, a in ACTIVATIONS.items() if isinstance(a, Elementwise)))
    ok = proof.ok
elif mistake == "-":
    proof = prove(Network.from_spec(layers, activation), method=method, backend=backend)
    ok = proof.ok
else:  # a catalogued mistake: as expected when every weight it harms is refuted and nothing is undecided
    proof = prove(Network.from_spec(layers, activation, "softmax-ce" if "softmax" in mistake else "half-sse"),
                  MISTAKES[mistake].recurrence, method=method, backend=backend, diagnose=False)
    ok = bool(proof.refuted) and not proof.undecided
print(json.dumps({"ok": bool(ok), "seconds": proof.seconds}))
"""


def proof_figures(sides: list[Side], quick: bool) -> None:
    has_symengine = installed("symengine")
    cases = [("exact proof, the source text's [2,3,3,2], sigmoid, default backend", ("2,3,3,2", "sigmoid", "exact", "auto")),
             ("exact proof, the source text's [2,3,3,2], sigmoid, sympy backend", ("2,3,3,2", "sigmoid", "exact", "sympy")),
             ("exact proof [4,8,8,4], sympy backend", ("4,8,8,4", "generic", "exact", "sympy")),
             ("exact proof [4,8,8,4], symengine backend", ("4,8,8,4", "generic", "exact", "symengine")),
             ("general proof: every architecture, activation, loss", ("-", "every", "general", "sympy")),
             ("exact proof refuting a mistake (missing a'), [3,4,3], default backend",
              ("3,4,3", "generic", "exact", "auto", "missing-a-prime")),
             ("exact proof refuting a mistake (softmax Jacobian ignored), [2,3,3,2], default backend",
              ("2,3,3,2", "tanh,tanh,softmax", "exact", "auto", "softmax-jacobian-ignored"))]
    if not quick:
        cases += [("layerwise proof, MNIST [784,100,10] (79,510 w.)", ("784,100,10", "sigmoid", "layerwise", "sympy")),
                  ("random identity test, MNIST [784,100,10]", ("784,100,10", "sigmoid", "random", "sympy"))]
    for label, args in cases:
        if args[3] == "symengine" and not has_symengine:
            record(label, "proof, fresh interpreter", None, note="symengine not installed: skipped")
            continue
        found = {s.name: s.json(["-c", PROOF, *args]) for s in sides}
        value = {name: (f["seconds"] if f and f.get("ok") else None) for name, f in found.items()}
        record(label, "proof, fresh interpreter, its seconds", value.get("after"), value.get("before"))


# --- the run ----------------------------------------------------------------------------------------------

def environment() -> str:
    def version(name: str) -> str:
        try:
            from importlib.metadata import version as installed
            return installed(name)
        except Exception:  # noqa: BLE001 - not installed
            return "not installed"
    names = ("numpy", "sympy", "symengine", "torch", "jax")
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            + ", ".join(f"{n} {version(n)}" for n in names) + f"; load average {os.getloadavg()}")


def markdown() -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in ROWS]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the runs that take a minute or more each")
    parser.add_argument("--before", metavar="REF", help="also measure this git ref (or installed folder)")
    parser.add_argument("--fresh-repeats", type=int, default=7, metavar="N")
    parser.add_argument("--rounds", type=int, default=2, metavar="N",
                        help="warm figures: rounds per side, alternating (default 2; the least median counts)")
    parser.add_argument("--markdown", action="store_true", help="end with the table in markdown")
    parser.add_argument("--json", metavar="FILE", help="write every row as JSON")
    parser.add_argument("--only", choices=("fresh", "warm", "proofs"), action="append")
    parser.add_argument("--figure", action="append", metavar="NAME", choices=[w[1] for w in WARM],
                        help="warm figures: only this one (figures.py's name; repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gradproof-bench-") as workdir:
        sides = [Side("after", None, workdir)]
        if args.before:
            sides.insert(0, Side("before", build(args.before, workdir), workdir))
        print(environment())
        print(f"sides: {', '.join(s.name + (' = ' + args.before if s.path else ' = this tree') for s in sides)}")
        print("  " + " | ".join(HEADER), flush=True)
        parts = {"fresh": lambda: fresh_figures(sides, args.fresh_repeats),
                 "warm": lambda: warm_figures(sides, args.quick, args.rounds, args.figure), "proofs": lambda: proof_figures(sides, args.quick)}
        for name in args.only or parts:
            parts[name]()
        print(f"load average at the end {os.getloadavg()}")
    if args.markdown:
        print(markdown())
    if args.json:
        Path(args.json).write_text(json.dumps({"environment": environment(), "rows": ROWS}, indent=1))


if __name__ == "__main__":
    main()
