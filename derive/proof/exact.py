"""The exact method: every ∂E/∂w by the definition (``sympy.diff``), compared exactly with the
recurrence's entry, weight by weight.

The proof's own side comes first and from its own objects: a fresh :class:`SymbolicNetwork`, its E, its
derivatives and the lemmas, all computed before the user's recurrence runs (on another fresh network,
under the guard, :mod:`.sealed`); what the recurrence returns is rebuilt (:mod:`.claims`) and then
judged (:mod:`.decide`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

from gradproof.derive.errors import InputError
from gradproof.derive.proof import symengine_backend
from gradproof.derive.proof.assumptions import target_assumptions
from gradproof.derive.proof.canonical import shown_positive
from gradproof.derive.proof.decide import Judge
from gradproof.derive.proof.denominators import POSITIVE, bases
from gradproof.derive.proof.domains import unreal_parts
from gradproof.derive.proof.identity import METHOD, METHOD_DESCRIPTION, Decision, decide_zero
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, Proof, WeightProof
from gradproof.derive.proof.sealed import claims_for, user_gradients
from gradproof.derive.runtime.progress import Progress
from gradproof.derive.symbolic.mistakes import recognise
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import PsiRecurrence, direct_gradients, recurrence_name
from gradproof.derive.symbolic.walk import post_order

#: A recurrence is a PsiRecurrence, or any callable taking the SymbolicNetwork and returning one
#: matrix per layer shaped like W̄[l].
Recurrence = PsiRecurrence | Callable[[SymbolicNetwork], Sequence]


EXACT_STATEMENT = ("for this network: every ∂E/∂w by sympy.diff of E equals the recurrence's entry, as an "
                   "identity in the weights, inputs, targets and activation values, wherever the entries' "
                   "denominators are not zero")

#: networks up to this many weights get a diagnosis when a proof fails (it compares the claimed
#: gradients with every catalogued mistake)
DIAGNOSIS_LIMIT = 100


def prove_exact(network, recurrence, diagnose, backend: str = "auto", progress: bool | None = False) -> Proof:
    """``backend``: "sympy", "symengine", or "auto" (symengine where it is installed and can carry E,
    otherwise sympy; :func:`choose_backend`)."""
    start = time.perf_counter()
    net = network.network if isinstance(network, SymbolicNetwork) else network
    ours = SymbolicNetwork(net)
    lemmas = tuple(lemmas_for(net, ours))
    given, assumptions = target_assumptions(ours)
    nodes: dict = {}
    divides = lambda expr: bool(bases(expr, cache=nodes))  # noqa: E731 - one line, shared cache
    fast, why = choose_backend(ours.error.xreplace(given), ours.weight_symbols, divides, backend, progress)
    direct = None if fast else _direct(ours, given, progress)
    own = (ours, ours.error, lemmas, direct if direct is not None else fast.derivatives)
    claimed = user_gradients(net, recurrence, claims_for(ours), own)
    claimed_entries = _replaced([c for matrix in claimed for c in matrix], given)
    judge = Judge(ours)
    if fast:
        with Progress(len(claimed_entries), "deciding (symengine)", enabled=progress) as bar:
            direct = fast.settle(claimed_entries, partial(_settling_bases, nodes), partial(_positive, judge),
                                 bar.advance)
    results, ranges = _judged(ours, judge, direct, claimed_entries, progress, fast)
    ranges |= fast.ranges if fast else set()
    seconds = time.perf_counter() - start
    diagnosis = ()
    if diagnose and any(r.status != PROVEN for r in results) and net.n_weights <= DIAGNOSIS_LIMIT \
            and not net.has_conv:  # the catalogue's mistakes are written for dense layers
        diagnosis = tuple(recognise(ours, claimed))
    return Proof(net, recurrence_name(recurrence), "exact", f"{EXACT_STATEMENT}; decided by {METHOD}: "
                 f"{METHOD_DESCRIPTION}", tuple(results), tuple(lemmas), assumptions + _ranges(ranges),
                 seconds, diagnosis, backend="symengine" if fast else "sympy",
                 backend_note=_backend_note(fast, direct, why))


def choose_backend(error, weights, divides, backend: str, progress: bool | None = False) -> tuple:
    """The symengine derivatives of ``error`` (None for sympy) and why that backend: "symengine" uses
    it or says why it cannot in one line (:class:`~symengine_backend.CannotCarry`); "auto" uses it where
    it is installed and can carry E and every rule, and falls back to sympy otherwise."""
    if backend == "sympy":
        return None, "asked for"
    if backend == "auto" and not symengine_backend.available():
        return None, "symengine is not installed (pip install 'gradproof[fast]' makes it the default)"
    try:
        with Progress(len(weights), "differentiating E (symengine)", enabled=progress) as bar:
            return symengine_backend.Differentiated(error, weights, divides, bar.advance), ""
    except symengine_backend.CannotCarry as refused:
        if backend == "symengine":
            raise
        return None, f"symengine cannot carry {refused.what} (in E or an activation's rule) over"
    except Exception as failed:  # noqa: BLE001 - a rule of yours that fails there: sympy.diff has its own say
        if backend == "symengine":
            raise InputError(f"the symengine backend failed on E: {type(failed).__name__}: {failed}") from None
        return None, f"symengine failed on E ({type(failed).__name__}): sympy takes it"


def _backend_note(fast, direct: list, why: str) -> str:
    if fast is None:
        return f"sympy: {why}; ∂E/∂w by sympy.diff and sympy's decision for every weight"
    settled = sum(d is None for d in direct)
    return (f"symengine: ∂E/∂w through E's graph by the chain rule with sympy.diff's rules; {settled} of "
            f"{len(direct)} weights settled there (the difference expands to 0 and every denominator is shown "
            f"positive by the decision's own check), {len(direct) - settled} decided by sympy")


def _replaced(entries: list, given: dict) -> list:
    """``entry.xreplace(given)`` for every entry, each subexpression they share rebuilt once."""
    if not given:
        return list(entries)
    done: dict = dict(given)

    def rebuilt(node):
        args = tuple(done[arg] for arg in node.args)
        return node.func(*args) if args != node.args else node

    return [post_order(entry, done, rebuilt, lambda node: node.args) for entry in entries]


def _settling_bases(nodes: dict, claimed) -> list:
    """What must be shown positive for symengine to settle ``claimed``: its denominators, and its roots and
    applications not shown real (log(w), asin(w): never positive as a base, so sympy decides, domains and all)."""
    return bases(claimed, cache=nodes) + unreal_parts(claimed, shown_positive)


def _positive(judge: Judge, base) -> frozenset | None:
    """The ranges ``base``'s positivity rests on, or None where it is not shown positive."""
    status, ranges = judge.denominators.base(base)
    return ranges if status == POSITIVE else None


def _direct(ours: SymbolicNetwork, given: dict, progress) -> tuple:
    with Progress(ours.network.n_weights, "differentiating E", enabled=progress) as bar:
        return tuple(d.xreplace(given) for matrix in direct_gradients(ours, bar.advance) for d in matrix)


def _judged(ours: SymbolicNetwork, judge: Judge, direct: list, claimed: list,
            progress: bool | None = False, fast=None) -> tuple[list[WeightProof], set]:
    """Each open weight decided (a bar over its two passes: the polynomial test, then the verdict); a
    weight settled in symengine (``direct`` None) is proven, its ∂E/∂w built in sympy on first use."""
    weights = ours.weight_symbols
    open_ = [k for k, d in enumerate(direct) if d is not None]
    with Progress(2 * len(open_), "deciding", enabled=progress) as bar:
        decisions = dict(zip(open_, decide_zero([direct[k] - claimed[k] for k in open_], bar.advance)))
        verdicts = judge.judge({weights[k]: (direct[k], claimed[k]) for k in open_},
                               {weights[k]: decision for k, decision in decisions.items()}, bar.advance)
    results, ranges = [], set()
    for k, index in enumerate(ours.network.weights()):
        if direct[k] is None:  # settled in symengine
            results.append(WeightProof(index, PROVEN, None, claimed[k], Decision(True, None, {}),
                                       build_direct=partial(fast.sympy_form, k)))
            continue
        v = verdicts[weights[k]]
        results.append(WeightProof(index, v.status, direct[k], claimed[k], v.decision, v.counterexample,
                                   v.conditions, v.reason))
        ranges |= v.ranges
    return results, ranges


def _ranges(ranges: set) -> tuple[str, ...]:
    used = sorted(ranges)
    if not used:
        return ()
    return (f"the denominators are positive because {', '.join(used)}",)
