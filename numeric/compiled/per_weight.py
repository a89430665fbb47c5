"""The per-weight gradient forms of small networks, and their generated source cached on disk.

For a small network the check compares every weight with two forms compiled from sympy by
:mod:`gradproof.numeric.compiled.lambdified`: the direct form (∂E/∂w by the definition, the independent
witness, through E's graph by the chain rule: :mod:`gradproof.numeric.compiled.direct`) and the Ψ
recurrence's entries. Compiling them takes 0.3–1.4 s for [2,3,3,2], and loading sympy
0.4 s more — 30 to 300 times the check itself. What ``lambdify`` generates is plain Python over numpy and
gradproof's kernels, so the first compile of a network writes that source to disk, and later processes
execute it in the namespace ``lambdify`` gives it (numpy's names, the kernels by the names the symbolic
functions print as), without loading sympy.

**The key** of a cached form is a SHA-256 digest of the form's name, the network (sizes, each layer's
activation, the loss, biases), the source text of every gradproof module that shapes the forms
(``gradproof.derive.model``, ``gradproof.derive.symbolic`` with its chain rule, the three modules that compile
them — lambdified, direct and this one: stricter than
gradproof's version, which an edit does not change) and sympy's ``release.py`` (its version), read from
where sympy is installed without importing it: another gradproof or sympy is a new key, never a stale form. A network with an activation or a
loss defined in the running process (``define_activation``, ``define_loss``) is never cached (its numpy
names live in that process only). A cache entry that cannot be read or run is compiled again; a cache
that cannot be written is skipped; a file or folder that is not the user's own, or that others may write,
is never executed. A form loaded from the cache is used only where it agrees with the matrix-form Ψ
recurrence (numpy, never cached) at a network drawn from seed 0 (:func:`agrees_with_psi`): the file is one
this user's programs can write, a backward pass under check among them; an edited entry is compiled again. The folder is ``$GRADPROOF_CACHE``, else ``$XDG_CACHE_HOME/gradproof``,
else ``~/.cache/gradproof``; ``GRADPROOF_CACHE=off`` turns the cache off.

The cached source is the text generated in this process (by lambdify, or by the direct form's compiler
under lambdify's name ``_lambdifygenerated``), byte for byte; a test compares the forms loaded from it
with freshly lambdified ones, value for value, for every activation and loss.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from gradproof.derive.model.activations import ACTIVATIONS
from gradproof.derive.model.kernels import LAMBDIFIED
from gradproof.derive.model.losses import LOSSES
from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import psi_gradient, reduce
from gradproof.numeric.samples import random_sample

PATH_BUDGET = 200
#: the most weights the direct form is compiled for (about a second at this size: benchmarks/bench_symbolic.py)
DIRECT_LIMIT = 600
FORMS = ("direct", "psi")
#: the module that compiles a form with sympy: loaded on a cache miss only (loading sympy costs 0.4 s)
COMPILER = "gradproof.numeric.compiled.lambdified"
#: the packages and modules whose source shapes the generated forms (part of every key)
SHAPING = ("gradproof.derive.model", "gradproof.derive.symbolic", COMPILER, "gradproof.numeric.compiled.direct",
           __name__)


def per_weight_cost(network: Network) -> int:
    """Σ over the weights of the number of paths from the weight to the outputs (× n_L for a softmax)."""
    total = 0
    for layer in range(network.depth):
        paths = network.shape(layer)[0] * network.shape(layer)[1]
        for size in network.sizes[layer + 2:]:
            paths *= size
        total += paths
    return total * (network.sizes[-1] if network.activations[-1].name == "softmax" else 1)


def per_weight_feasible(network: Network) -> bool:
    """Whether the per-weight forms compile in about a second (see ``PATH_BUDGET``)."""
    return per_weight_cost(network) <= PATH_BUDGET


def direct_feasible(network: Network) -> bool:
    """Whether the direct form compiles in about a second (see ``DIRECT_LIMIT``)."""
    return network.n_weights <= DIRECT_LIMIT


def evaluate(network: Network, function, wbar, x_columns: np.ndarray, y_columns: np.ndarray,
             reduction: str = "mean") -> list[np.ndarray]:
    """A generated form's entries for the W̄ arrays, reduced over the samples and shaped like W̄."""
    samples = x_columns.shape[1]
    values = function([np.asarray(w) for w in wbar], list(x_columns), list(y_columns))
    flat = [reduce(np.broadcast_to(np.asarray(v, dtype=float), (samples,)), reduction) for v in values]
    grads, start = [], 0
    for rows, cols in network.shapes:
        grads.append(np.array(flat[start:start + rows * cols]).reshape(rows, cols))
        start += rows * cols
    return grads


@dataclass(frozen=True, eq=False)
class PerWeightForm:
    """A compiled per-weight form: ``f(wbar, x_columns, y_columns, reduction)``, where it came from (the
    disk cache, or sympy in this process), the seconds it took to get and when it was made (``perf_counter``)."""

    network: Network
    form: str
    function: object
    source: str
    origin: str      # "cache" or "sympy"
    seconds: float
    made: float      # time.perf_counter() when it was ready

    def __call__(self, wbar, x_columns, y_columns, reduction: str = "mean") -> list[np.ndarray]:
        return evaluate(self.network, self.function, wbar, x_columns, y_columns, reduction)


@lru_cache(maxsize=32)
def compiled(network: Network, form: str) -> PerWeightForm:
    """The per-weight ``form`` of ``network``: from the disk cache, else compiled by sympy (and cached)."""
    start = time.perf_counter()
    path = cache_path(network, form)
    found = _load(path) if path is not None else None
    if found is not None and not agrees_with_psi(network, found[0]):
        _discard(path)  # edited since gradproof wrote it (your own code may write there): compiled again
        found = None
    if found is not None:
        return PerWeightForm(network, form, found[0], found[1], "cache", time.perf_counter() - start,
                             time.perf_counter())
    fresh = importlib.import_module(COMPILER).CompiledGradient(network, form).compile()
    if path is not None:
        _store(path, fresh.source)
    return PerWeightForm(network, form, fresh.function, fresh.source, "sympy", time.perf_counter() - start,
                         time.perf_counter())


#: how far a cached form may be from the matrix-form Ψ at its trial network, relative to the layer's largest
#: entry: half of float64's digits. Both compute the same sums at a network with weights and inputs in
#: [−1, 1], with at most a few hundred rounded operations per entry (≤ 600 weights): their rounding gives
#: differences near 10⁻¹⁵ of the largest entry, 10⁸ times below this; an edit of the file that changes
#: what it computes by more is caught, and costs the user a compile, never a verdict.
CACHE_RECHECK = 2.0 ** -26


def agrees_with_psi(network: Network, function) -> bool:
    """Whether a form loaded from the cache gives, at a network drawn from seed 0, every ∂E/∂W̄[l] entry the
    matrix-form Ψ recurrence (gradproof's numpy code, never cached) gives, within ``CACHE_RECHECK``. The
    cache is a file this user's programs can write, a backward pass under check among them."""
    sample = random_sample(network, seed=0)
    x, y = sample.columns()
    try:
        with np.errstate(all="ignore"):
            loaded = evaluate(network, function, sample.wbar, x, y, "mean")
    except Exception:  # noqa: BLE001 - a form that cannot run is compiled again
        return False
    own_gradient = psi_gradient(network, sample.wbar, x, y, "mean")
    if not isinstance(loaded, list) or len(loaded) != len(own_gradient):
        return False
    for found, own in zip(loaded, own_gradient):
        found = np.asarray(found)
        scale = float(np.max(np.abs(own))) if own.size else 0.0
        if found.shape != own.shape or not np.all(np.abs(found - own) <= CACHE_RECHECK * scale):
            return False
    return True


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def cache_folder() -> Path | None:
    """Where cached forms live (None: the cache is off)."""
    chosen = os.environ.get("GRADPROOF_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gradproof"


def cache_path(network: Network, form: str) -> Path | None:
    """The file of ``network``'s ``form`` (None: not cacheable, or the cache is off)."""
    folder = cache_folder()
    if folder is None or not _built_in(network):
        return None
    key = {"form": form, "sizes": list(network.sizes), "activations": list(network.activation_names),
           "loss": network.loss.name, "bias": network.bias, "source": _source_digest()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return folder / f"{form}-{digest[:40]}.py"


def _built_in(network: Network) -> bool:
    """Whether every activation and the loss are gradproof's own (their numpy names exist in every process)."""
    return (not network.has_conv and all(ACTIVATIONS.get(act.name) is act for act in network.activations)
            and LOSSES.get(network.loss.name) is network.loss)


@lru_cache(maxsize=1)
def _source_digest() -> str:
    """A digest of the source of every module in ``SHAPING``, and of sympy's ``release.py``."""
    digest = hashlib.sha256()
    sympy = importlib.util.find_spec("sympy")  # where it is installed: a top-level package is not imported
    files = [Path(sympy.origin).with_name("release.py")] if sympy is not None and sympy.origin else []
    for name in SHAPING:
        spec = importlib.util.find_spec(name)
        files += (sorted(p for folder in spec.submodule_search_locations for p in Path(folder).glob("*.py"))
                  if spec.submodule_search_locations else [Path(spec.origin)])
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


#: what lambdify's namespace adds to numpy's names
_EXTRA = {"I": 1j, "Abs": abs, "builtins": builtins, "range": range, "reduce": functools.reduce}  # Max, Min: reduce(maximum, …)


def namespace(names) -> dict:
    """The namespace ``lambdify(modules=[kernels, "numpy"])`` gives a generated form, for the ``names`` it
    reads: ``from numpy import *`` and ``from numpy.linalg import *`` (``numpy`` itself too), ``I`` = 1j,
    ``Abs`` = abs, and the kernels by the names the symbolic functions print as, in that order of
    precedence from last to first. Only the names read are looked up (the star import loads numpy.testing
    and more: 0.3 s); a name found nowhere is left to the builtins, as lambdify leaves it."""
    found: dict = {}
    for name in names:
        if name in LAMBDIFIED:
            found[name] = LAMBDIFIED[name]
        elif name in _EXTRA:
            found[name] = _EXTRA[name]
        elif name == "numpy":
            found[name] = np
        elif name in _numpy_names():
            found[name] = getattr(np, name)
        elif name in _linalg_names():
            found[name] = getattr(np.linalg, name)
    return found


@lru_cache(maxsize=1)
def _numpy_names() -> frozenset:
    return frozenset(np.__all__)


@lru_cache(maxsize=1)
def _linalg_names() -> frozenset:
    return frozenset(np.linalg.__all__)


def _read_names(code) -> set:
    """Every global name a code object (and the code nested in it) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _read_names(const)
    return names


def _load(path: Path):
    """(function, source) from a cache file, or None when it is missing, cannot be run, or is not this
    user's own (a file another user could have written is never executed)."""
    try:
        if not _own(path) or not _own(path.parent):
            return None
        source = path.read_text(encoding="utf-8")
        scope: dict = {}
        code = compile(source, str(path), "exec")
        exec(code, namespace(_read_names(code)), scope)  # noqa: S102 - gradproof's own output
        return scope["_lambdifygenerated"], source
    except Exception:  # noqa: BLE001 - an unreadable entry is compiled again
        return None


def _own(path: Path) -> bool:
    """Whether ``path`` belongs to this user and no one else may write it."""
    found = path.stat()
    return found.st_uid == os.getuid() and not found.st_mode & 0o022


def _store(path: Path, source: str) -> None:
    """Write the source atomically (a reader never sees half a file); a cache that cannot be written is
    skipped."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp",
                                         delete=False) as handle:
            handle.write(source)
        os.replace(handle.name, path)
    except OSError:
        pass
