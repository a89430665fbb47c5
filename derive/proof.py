"""Proofs: every ∂E/∂w by the definition, compared exactly with a recurrence's entry.

:func:`prove` returns a :class:`Proof`, an object the command line, the LaTeX writer, notebooks and tests
all read: per weight its indices and status (proven, refuted with a counterexample, or undecided), the
lemmas it rests on, the method, any assumption, and the time taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from derive import symengine_backend
from derive.counterexample import Counterexample, find_counterexample
from derive.errors import InputError
from derive.gradients import PSI, PsiRecurrence, direct_gradients
from derive.identity import METHOD, METHOD_DESCRIPTION, Decision, decide_zero
from derive.lemmas import PROVEN, REFUTED, UNDECIDED, Lemma, lemmas_for
from derive.mistakes import recognise
from derive.network import Network, WeightIndex
from derive.progress import Progress
from derive.symbolic import SymbolicNetwork

#: A recurrence is a PsiRecurrence, or any callable taking the SymbolicNetwork and returning one
#: matrix per layer shaped like W̄[l].
Recurrence = PsiRecurrence | Callable[[SymbolicNetwork], Sequence]


@dataclass(frozen=True)
class WeightProof:
    """The verdict on one weight ˡwʲᵢ."""

    weight: WeightIndex
    status: str
    direct: sp.Expr | None = field(default=None, repr=False)
    claimed: sp.Expr | None = field(default=None, repr=False)
    decision: Decision | None = field(default=None, repr=False)
    counterexample: Counterexample | None = field(default=None, repr=False)

    @property
    def residual(self) -> sp.Expr | None:
        """direct − claimed, expanded (zero when proven; None where the method kept no expressions)."""
        return None if self.decision is None else self.decision.residual

    def to_dict(self) -> dict:
        layer, source, target = self.weight
        return {"layer": layer, "from": source, "to": target, "status": self.status}


@dataclass(frozen=True)
class Proof:
    """The result of comparing a recurrence with the direct form, weight by weight."""

    network: Network
    recurrence: str
    method: str
    method_description: str
    weights: tuple[WeightProof, ...]
    lemmas: tuple[Lemma, ...]
    assumptions: tuple[str, ...]
    seconds: float
    diagnosis: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return len(self.weights)

    @property
    def proven(self) -> int:
        return sum(w.status == PROVEN for w in self.weights)

    @property
    def refuted(self) -> tuple[WeightProof, ...]:
        return tuple(w for w in self.weights if w.status == REFUTED)

    @property
    def undecided(self) -> tuple[WeightProof, ...]:
        return tuple(w for w in self.weights if w.status == UNDECIDED)

    @property
    def ok(self) -> bool:
        """True when every weight and every lemma is proven."""
        return self.proven == self.total and all(lemma.status == PROVEN for lemma in self.lemmas)

    def by_layer(self) -> list[tuple[int, int, int]]:
        """(layer, proven, total) for every weight layer."""
        return [(layer, sum(w.status == PROVEN for w in self.weights if w.weight.layer == layer),
                 sum(w.weight.layer == layer for w in self.weights))
                for layer in range(self.network.depth)]

    def weight(self, index: Sequence[int]) -> WeightProof:
        wanted = self.network.check_weight(index)
        return next(w for w in self.weights if w.weight == wanted)

    def _repr_html_(self) -> str:
        from derive.notebook import proof_html
        return proof_html(self)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "proven": self.proven, "total": self.total,
                "refuted": len(self.refuted), "undecided": len(self.undecided),
                "method": self.method, "method_description": self.method_description,
                "recurrence": self.recurrence, "seconds": round(self.seconds, 6),
                "network": self.network.spec(), "assumptions": list(self.assumptions),
                "diagnosis": list(self.diagnosis),
                "lemmas": [lemma.to_dict() for lemma in self.lemmas],
                "weights": [w.to_dict() for w in self.weights]}


#: networks up to this many weights get a diagnosis when a proof fails (it compares the claimed
#: gradients with every catalogued mistake)
DIAGNOSIS_LIMIT = 100


METHODS = ("exact", "layerwise", "random")
BACKENDS = ("sympy", "symengine")
EXACT_STATEMENT = ("for this network: every ∂E/∂w by sympy.diff of E equals the recurrence's entry, as an "
                   "identity in the weights, inputs, targets and activation values")


def prove(network: Network | SymbolicNetwork, recurrence: Recurrence = PSI, diagnose: bool = True,
          method: str = "exact", progress: bool | None = False, rounds: int = 2, backend: str = "sympy") -> Proof:
    """Prove that ``recurrence`` gives ∂E/∂w as ``sympy.diff`` of E does, by ``method``:

    - ``exact``: weight by weight, each direct form against the recurrence's entry (the default);
    - ``layerwise``: the chain-rule identities layer by layer, linear in the weights
      (:mod:`derive.layerwise`);
    - ``random``: both sides exactly at ``rounds`` random points of GF(2⁶¹ − 1), with a stated error
      probability (:mod:`derive.randomized`).

    ``recurrence`` is a :class:`PsiRecurrence` (or subclass), or for ``exact`` also a function of the
    :class:`SymbolicNetwork` returning one matrix per layer shaped like W̄[l]. ``backend="symengine"``
    (the ``fast`` extra) runs the exact method's differentiation in symengine, with identical verdicts
    (:mod:`derive.symengine_backend`). When something is
    refuted, ``diagnose`` compares the claimed gradients with the catalogued mistakes
    (:mod:`derive.mistakes`) on networks of up to ``DIAGNOSIS_LIMIT`` weights. ``progress``: a bar on
    stderr (None: where stderr is a terminal)."""
    if method not in METHODS:
        raise InputError(f"unknown proof method {method!r}: choose one of {', '.join(METHODS)} (or general)")
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "symengine":
        if method != "exact":
            raise InputError("--backend symengine speeds up --method exact only")
        symengine_backend.require()
    if method != "exact":
        net = network.network if isinstance(network, SymbolicNetwork) else network
        if method == "layerwise":
            from derive.layerwise import prove_layerwise
            return prove_layerwise(net, recurrence, progress)
        from derive.randomized import prove_random
        return prove_random(net, recurrence, rounds=rounds, progress=progress)
    return _prove_exact(network, recurrence, diagnose, backend, progress)


def _prove_exact(network, recurrence, diagnose, backend: str = "sympy", progress: bool | None = False) -> Proof:
    start = time.perf_counter()
    sym = network if isinstance(network, SymbolicNetwork) else SymbolicNetwork(network)
    net = sym.network
    claimed = _claimed_gradients(sym, recurrence)
    given, assumptions = target_assumptions(sym)
    claimed_entries = [c.xreplace(given) for matrix in claimed for c in matrix]
    if backend == "symengine":  # the fast path decides what expands to 0; sympy decides the rest
        direct, _ = symengine_backend.direct_and_decided(sym.error.xreplace(given), sym.weight_symbols,
                                                         claimed_entries)
    else:
        with Progress(net.n_weights, "differentiating E", enabled=progress) as bar:
            direct = [d.xreplace(given) for matrix in direct_gradients(sym, bar.advance) for d in matrix]
    open_pairs = [(d, c) for d, c in zip(direct, claimed_entries) if d is not None]
    decisions = iter(decide_zero([d - c for d, c in open_pairs]))
    results = []
    for index, d, c in zip(net.weights(), direct, claimed_entries):
        if d is None:
            results.append(WeightProof(index, PROVEN, None, c, Decision(True, None, {})))
            continue
        decision = next(decisions)
        status, witness = PROVEN, None
        if not decision.is_zero:
            witness = find_counterexample(sym, d, c, seed=hash(index) & 0xFFFF)
            status = REFUTED if witness else UNDECIDED
        results.append(WeightProof(index, status, d, c, decision, witness))
    seconds = time.perf_counter() - start
    diagnosis = ()
    if diagnose and any(r.status != PROVEN for r in results) and net.n_weights <= DIAGNOSIS_LIMIT:
        diagnosis = tuple(recognise(sym, claimed))
    name = getattr(recurrence, "description", None) or f"your recurrence {getattr(recurrence, '__name__', '')}()"
    return Proof(net, name, "exact", f"{EXACT_STATEMENT}; decided by {METHOD}: {METHOD_DESCRIPTION}",
                 tuple(results), tuple(lemmas_for(net)), assumptions, seconds, diagnosis)


def target_assumptions(sym: SymbolicNetwork) -> tuple[dict, tuple[str, ...]]:
    """What the loss assumes of the targets, as a substitution and in words."""
    if sym.network.loss.targets != "probabilities":
        return {}, ()
    *rest, last = sym.y
    return ({last: 1 - sp.Add(*rest)},
            ("the targets are probabilities (Σₖ yₖ = 1): "
             f"y{len(sym.y)} is replaced by 1 − (the other targets)",))


def _claimed_gradients(sym: SymbolicNetwork, recurrence: Recurrence) -> list[sp.ImmutableMatrix]:
    produced = recurrence.gradients(sym) if isinstance(recurrence, PsiRecurrence) else recurrence(sym)
    net = sym.network
    try:
        matrices = [sp.ImmutableMatrix(m) for m in produced]
    except (TypeError, ValueError) as exc:
        raise InputError(f"the recurrence must return one matrix per layer: {exc}") from None
    if len(matrices) != net.depth:
        raise InputError(f"the recurrence returned {len(matrices)} matrices for {net.depth} weight "
                         "layers: return one ∂E/∂W̄[l] per layer")
    for layer, (matrix, shape) in enumerate(zip(matrices, net.shapes)):
        if matrix.shape != shape:
            raise InputError(f"the recurrence's ∂E/∂W̄[{layer}] has shape {matrix.shape}, W̄[{layer}] "
                             f"has {shape}: rows are target neurons, columns source inputs")
    return matrices
