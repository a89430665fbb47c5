"""The exact method: every ∂E/∂w by the definition (``sympy.diff``), compared exactly with the
recurrence's entry, weight by weight."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from gradproof.derive.proof import symengine_backend
from gradproof.derive.proof.counterexample import Counterexample, find_counterexample
from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence, direct_gradients
from gradproof.derive.proof.identity import METHOD, METHOD_DESCRIPTION, Decision, decide_zero
from gradproof.derive.proof.assumptions import target_assumptions
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Proof, WeightProof
from gradproof.derive.symbolic.mistakes import recognise
from gradproof.derive.model.network import Network, WeightIndex
from gradproof.derive.runtime.progress import Progress
from gradproof.derive.symbolic.network import SymbolicNetwork

#: A recurrence is a PsiRecurrence, or any callable taking the SymbolicNetwork and returning one
#: matrix per layer shaped like W̄[l].
Recurrence = PsiRecurrence | Callable[[SymbolicNetwork], Sequence]


EXACT_STATEMENT = ("for this network: every ∂E/∂w by sympy.diff of E equals the recurrence's entry, as an "
                   "identity in the weights, inputs, targets and activation values")

#: networks up to this many weights get a diagnosis when a proof fails (it compares the claimed
#: gradients with every catalogued mistake)
DIAGNOSIS_LIMIT = 100


def prove_exact(network, recurrence, diagnose, backend: str = "sympy", progress: bool | None = False) -> Proof:
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
    if diagnose and any(r.status != PROVEN for r in results) and net.n_weights <= DIAGNOSIS_LIMIT \
            and not net.has_conv:  # the catalogue's mistakes are written for dense layers
        diagnosis = tuple(recognise(sym, claimed))
    name = getattr(recurrence, "description", None) or f"your recurrence {getattr(recurrence, '__name__', '')}()"
    return Proof(net, name, "exact", f"{EXACT_STATEMENT}; decided by {METHOD}: {METHOD_DESCRIPTION}",
                 tuple(results), tuple(lemmas_for(net)), assumptions, seconds, diagnosis)


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
