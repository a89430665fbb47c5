"""The layer-local proof: the chain-rule identities the recurrence compresses, one layer at a time.

Every weighted sum z[l] and every Ψ[l] is a free symbol here (ˡzᵢ, ˡΨᵢ), so each identity is small and the
total work grows linearly with the number of weights. For the recurrence's own steps it proves:

1. **output**: Ψ[L−1]ₖ = ∂E/∂z[L−1]ₖ, with E = loss(a(z[L−1]), y) differentiated by ``sympy.diff``;
2. **step** (l = L−1 … 1): Ψ[l−1]ⱼ = Σᵢ Ψ[l]ᵢ·∂z[l]ᵢ/∂z[l−1]ⱼ for any values of Ψ[l] (for a softmax output:
   any values summing to 0, as ∂E/∂z there does, proven), with z[l] = W̄[l]·[1; a(z[l−1])];
3. **weights**: ∂E/∂ˡwʲᵢ = Σₖ Ψ[l]ₖ·∂z[l]ₖ/∂ˡwʲᵢ = Ψ[l]ᵢ·X̄[l]ʲ (only z[l]ᵢ holds ˡwʲᵢ).

E depends on W̄[l] and z[l−1] only through z[l], so by the chain rule and induction from the output,
(1)–(3) give ∂E/∂w = the recurrence's entry. The steps are run twice: on the stand-in network above, and
on the real network (under the guard, :mod:`.sealed`); a weight is proven by layerwise only if every step
it rests on, instantiated at the real run's inputs, is what the real run returned (a recurrence that
behaves differently on the stand-in gains nothing). A recurrence in another convention (δ = ∂E/∂a, a
scaled Ψ) fails (1)–(3) although its gradients may be right: layerwise then declines those weights and
says so, and they are decided on the real run's entries instead: refuted with a real network where they
differ, by the exact method on small networks, otherwise undecided.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof.assumptions import target_assumptions
from gradproof.derive.proof.claims import matrix_of
from gradproof.derive.proof.counterexample import find_counterexamples
from gradproof.derive.proof.decide import Judge, not_shown_real
from gradproof.derive.proof.denominators import NONZERO, POSITIVE, ZERO
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Lemma, Proof, WeightProof
from gradproof.derive.proof.sealed import claims_for, run
from gradproof.derive.runtime.progress import Progress
from gradproof.derive.symbolic.forms import activation_form, loss_form
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import PsiRecurrence, composes_its_steps, recurrence_name
from gradproof.derive.symbolic.symbols import Input, PsiEntry, Target, Weight
from gradproof.derive.symbolic.walk import nodes_of

METHOD = "layerwise"
STATEMENT = ("for this architecture, layer by layer: Ψ at the output is ∂E/∂z there; each step of the "
             "recurrence is the chain rule from one layer's weighted sums to the layer below, for any values "
             "of Ψ above; each weight's entry is Ψᵢ·X̄ʲ = ∂E/∂z·∂z/∂w; each step returns on the real network "
             "what it returns here. With the chain rule and the layered structure, by induction from the "
             "output: ∂E/∂w equals the recurrence's entry for every weight proven")
ASSUMED = ("the multivariable chain rule; the network's layered structure (E depends on W̄[l] and z[l−1] "
           "only through z[l]), which holds by construction")
#: networks up to this many weights have the weights layerwise declines decided by the exact method
EXACT_FALLBACK = 100


class Zeta(sp.Symbol):
    """ˡzᵢ as a free symbol: a weighted sum treated as an independent variable."""

    def __new__(cls, layer: int, unit: int):
        obj = sp.Symbol.__xnew__(cls, f"z{layer}_{unit}", real=True)
        obj.layer, obj.unit = int(layer), int(unit)
        return obj

    def __getnewargs_ex__(self):
        return (self.layer, self.unit), {}


@dataclass(frozen=True, eq=False)
class LocalNetwork:
    """The interface of :class:`gradproof.derive.symbolic.network.SymbolicNetwork`, with every z[l] a column of free
    symbols: X̄[l+1] = [1; a(z[l])] holds only the layer below's own symbols."""

    network: Network

    def __post_init__(self):
        net = self.network
        object.__setattr__(self, "activations", tuple(activation_form(act) for act in net.activations))
        object.__setattr__(self, "loss", loss_form(net.loss))
        z = tuple(sp.ImmutableMatrix([Zeta(l, i) for i in range(1, net.sizes[l + 1] + 1)])
                  for l in range(net.depth))
        x = tuple(Input(j) for j in range(1, net.sizes[0] + 1))
        xbar = [self._bias(x)] + [self._bias(self.activations[l].forward(list(z[l]))) for l in range(net.depth - 1)]
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "xbar", tuple(xbar))
        object.__setattr__(self, "y", tuple(Target(k) for k in range(1, net.sizes[-1] + 1)))
        object.__setattr__(self, "output", tuple(self.activations[-1].forward(list(z[-1]))))
        object.__setattr__(self, "wbar", tuple(
            sp.ImmutableMatrix(*net.shape(l), lambda r, c: Weight(l, c + net.first_source, r + 1))
            for l in range(net.depth)))

    def _bias(self, values) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix([sp.Integer(1)] * self.network.bias + list(values))

    def activated(self, layer: int) -> list:
        if layer + 1 < self.network.depth:
            return list(self.xbar[layer + 1])[self.network.bias:]
        return list(self.output)

    def weight(self, index) -> Weight:
        return Weight(*index)

    @property
    def error(self):
        return self.loss.error(self.output, self.y)


@functools.lru_cache(maxsize=64)
def _psi_symbols(network: Network, layer: int) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([PsiEntry(layer, i) for i in range(1, network.sizes[layer + 1] + 1)])


class Run:
    """One run of the recurrence's steps on a network (under the guard), each result rebuilt."""

    def __init__(self, network: Network, recurrence: PsiRecurrence, sym, claims, own=()):
        self.network, self.recurrence, self.sym, self.claims, self.own = network, recurrence, sym, claims, own
        self.what = recurrence_name(recurrence)

    def step(self, name: str, *args, shape, label: str):
        produced = run(getattr(self.recurrence, name), self.sym, *args, network=self.network,
                       what=f"{self.what} ({name})", own=self.own)
        return matrix_of(produced, shape, self.claims, f"{self.what}'s {label}")

    def column(self, layer: int) -> tuple[int, int]:
        return (self.network.sizes[layer + 1], 1)

    def output(self):
        top = self.network.depth - 1
        return self.step("output_psi", shape=self.column(top), label=f"Ψ[{top}]")

    def propagate(self, layer: int, psi):
        return self.step("propagate", layer, psi, shape=self.column(layer - 1), label=f"Ψ[{layer - 1}]")

    def weights(self, layer: int, psi):
        return self.step("weight_gradient", layer, psi, shape=self.network.shape(layer),
                         label=f"∂E/∂W̄[{layer}]")


@dataclass(frozen=True)
class Link:
    """One identity a weight's proof rests on: whether it holds (with its denominators and on the real
    run), where (conditions), and if not, why."""

    name: str
    statement: str
    ok: bool
    conditions: tuple = ()
    why: str = ""
    zero: sp.Expr | None = None   #: a denominator that is identically zero

    def lemma(self) -> Lemma:
        return Lemma(self.name, self.statement, PROVEN, "polynomial identity")


class Definition:
    """The proof's own side of every local identity, from the stand-in network, before any user code."""

    def __init__(self, local: LocalNetwork, given: dict):
        net = local.network
        self.local, self.given, self.net = local, given, net
        top = net.depth - 1
        error = local.error
        self.output = tuple(sp.diff(error, zeta).xreplace(given) for zeta in local.z[top])
        self.sums_to_zero = (net.activations[-1].is_output_only and net.sizes[-1] > 1
                             and decide_zero([sp.Add(*self.output)])[0].is_zero)
        self.steps = {layer: tuple(self._chain(layer)) for layer in range(top, 0, -1)}

    def _chain(self, layer: int) -> list:
        local, bias = self.local, int(self.net.bias)
        psi = _psi_symbols(self.net, layer)
        chain = []
        for j, zeta in enumerate(local.z[layer - 1]):
            slope = sp.diff(local.xbar[layer][j + bias], zeta)  # a(z[l−1]ⱼ): the only place z[l−1]ⱼ enters z[l]
            chain.append(sp.Add(*(psi[i] * local.wbar[layer][i, j + bias] * slope
                                  for i in range(self.net.sizes[layer + 1]))))
        return chain

    def weight(self, layer: int, row: int, col: int):
        """∂/∂ˡwʲᵢ of Σₖ Ψₖ·z[l]ₖ: only z[l]ᵢ's addend ˡwʲᵢ·X̄ʲ holds the weight."""
        x = self.local.xbar[layer][col]
        return _psi_symbols(self.net, layer)[row] * (x if SLOPE == _X else SLOPE.xreplace({_X: x}))

    def constraint(self, layer: int) -> dict:
        """Ψ[top] sums to zero at a softmax output (∂E/∂z does, proven): its last entry, in the others."""
        if layer != self.net.depth - 1 or not self.sums_to_zero:
            return {}
        *rest, last = _psi_symbols(self.net, layer)
        return {last: -sp.Add(*rest)}


#: ∂(w·x)/∂w for a weight w and an input x free of it, by ``sympy.diff``, once: every weight's addend
#: ˡwʲᵢ·X̄ʲ of z[l]ᵢ is an instance (X̄[l] does not depend on W̄[l])
_W, _X = sp.symbols("w x")
SLOPE = sp.diff(_W * _X, _W)


def _link(name: str, statement: str, pairs, checks, same_on_real: bool) -> Link:
    """Whether every (definition, claimed) pair agrees, with its denominators, and on the real run."""
    same = all(d == c for d, c in pairs)  # the common case: the very expression, nothing to decide
    if not same and not all(x.is_zero for x in decide_zero([d - c for d, c in pairs])):
        return Link(name, statement, False, why="it does not hold for this recurrence")
    checked = checks.of(*(c for _, c in pairs)) if same else checks.of(*(e for pair in pairs for e in pair))
    if checked.status == ZERO:
        return Link(name, statement, False, why=f"it divides by {checked.zero}, which is identically 0",
                    zero=checked.zero)
    if checked.status not in (POSITIVE, NONZERO):
        return Link(name, statement, False, why=f"its denominator {checked.unknown} could not be shown to be nonzero")
    unreal = None if same else not_shown_real(sp.Add(*(c for _, c in pairs)), nodes_of(*(d for d, _ in pairs)))
    if unreal:
        return Link(name, statement, False, why=unreal)
    if not same_on_real:
        return Link(name, statement, False, why="on the real network the recurrence returned something else "
                    "than on the stand-in network")
    return Link(name, statement, True, checked.conditions)


def _same(stand_in, real, mapping: dict) -> bool:
    return all(s.xreplace(mapping) == r for s, r in zip(stand_in, real))


def _output_link(definition: Definition, stand_in, real, checks, zmap) -> Link:
    top = definition.net.depth - 1
    given = definition.given
    pairs = [(d, c.xreplace(given)) for d, c in zip(definition.output, stand_in)]
    return _link(f"output Ψ[{top}]", f"Ψ[{top}] = ∂E/∂z[{top}]", pairs, checks, _same(stand_in, real, zmap))


def _step_link(definition: Definition, layer: int, stand_in, real_above, real_below, checks, zmap) -> Link:
    psi = _psi_symbols(definition.net, layer)
    given = {**definition.given, **definition.constraint(layer)}
    pairs = [(d.xreplace(given), c.xreplace(given)) for d, c in zip(definition.steps[layer], stand_in)]
    mapping = {**zmap, **dict(zip(psi, real_above))}
    among = " summing to 0 (as ∂E/∂z at a softmax output does)" if definition.constraint(layer) else ""
    return _link(f"step Ψ[{layer - 1}] from Ψ[{layer}]",
                 f"Ψ[{layer - 1}]ⱼ = Σᵢ Ψ[{layer}]ᵢ·∂z[{layer}]ᵢ/∂z[{layer - 1}]ⱼ (the chain rule) "
                 f"for any Ψ[{layer}]{among}",
                 pairs, checks, _same(stand_in, real_below, mapping))


def _weight_links(definition: Definition, layer: int, stand_in, real, checks, zmap) -> list[Link]:
    net, given = definition.net, definition.given
    psi = _psi_symbols(net, layer)
    mapping = {**zmap, **dict(zip(psi, real.psi[layer]))}
    links = []
    for index in net.weights(layer):
        _, row, col = net.position(index)
        claimed = stand_in[row, col]
        pair = (definition.weight(layer, row, col), claimed.xreplace(given))
        links.append(_link(f"weight {index}", "∂E/∂w = Ψᵢ·X̄ʲ", [pair], checks,
                           claimed.xreplace(mapping) == real.gradients[layer][row, col]))
    return links


@dataclass
class RealRun:
    """What the recurrence returned for the real network: Ψ[l] and ∂E/∂W̄[l] per layer."""

    psi: dict
    gradients: list


def _real_run(run_: Run) -> RealRun:
    net = run_.network
    psi = {net.depth - 1: run_.output()}
    for layer in range(net.depth - 1, 0, -1):
        psi[layer - 1] = run_.propagate(layer, psi[layer])
    return RealRun(psi, [run_.weights(layer, psi[layer]) for layer in range(net.depth)])


def prove_layerwise(network: Network, recurrence: PsiRecurrence, progress: bool = False) -> Proof:
    """The layer-local proof of ``recurrence`` on ``network`` (see the module doc)."""
    if not composes_its_steps(recurrence):
        raise InputError("the layerwise proof needs a recurrence written step by step (a PsiRecurrence that "
                         "keeps its gradients() loop): prove any other with --method exact or random")
    start = time.perf_counter()
    ours = SymbolicNetwork(network)
    lemmas = tuple(lemmas_for(network, ours))
    given, assumptions = target_assumptions(ours)
    local = LocalNetwork(network)
    definition = Definition(local, given)
    own = (ours, ours.error, lemmas, local, definition.output, definition.steps)
    free = [z for m in local.z for z in m] + [p for l in range(network.depth) for p in _psi_symbols(network, l)]
    stand_in = _stand_in_run(Run(network, recurrence, LocalNetwork(network), claims_for(local, free), own))
    real = _real_run(Run(network, recurrence, SymbolicNetwork(network), claims_for(ours), own))
    judge = Judge(ours)
    zmap = {zeta: z for lm, rm in zip(local.z, ours.z) for zeta, z in zip(lm, rm)}
    links = _links(definition, stand_in, real, judge.denominators, zmap)
    results, declined = _layer_results(network, links, real, progress)
    results.update(_fallback(ours, judge, real, declined, given))
    used = [links["output"]] + [links[l] for l in range(network.depth - 1, 0, -1)]
    return Proof(network, recurrence_name(recurrence), METHOD, STATEMENT,
                 tuple(results[index] for index in network.weights()),
                 tuple(link.lemma() for link in used if link.ok) + lemmas, assumptions + (ASSUMED,),
                 time.perf_counter() - start, notes=_notes(links, declined, results, network))


def _stand_in_run(run_: Run) -> dict:
    net = run_.network
    found = {"output": run_.output()}
    for layer in range(net.depth - 1, 0, -1):
        found[layer] = run_.propagate(layer, _psi_symbols(net, layer))
    for layer in range(net.depth):
        found[("weights", layer)] = run_.weights(layer, _psi_symbols(net, layer))
    return found


def _links(definition: Definition, stand_in: dict, real: RealRun, checks, zmap) -> dict:
    net = definition.net
    top = net.depth - 1
    links = {"output": _output_link(definition, stand_in["output"], real.psi[top], checks, zmap)}
    for layer in range(top, 0, -1):
        links[layer] = _step_link(definition, layer, stand_in[layer], real.psi[layer], real.psi[layer - 1],
                                  checks, zmap)
    for layer in range(net.depth):
        links[("weights", layer)] = _weight_links(definition, layer, stand_in[("weights", layer)], real, checks, zmap)
    return links


def _layer_results(network: Network, links: dict, real: RealRun, progress) -> tuple[dict, dict]:
    """The weights whose every link holds (proven), and the first failed link of the others."""
    results, declined = {}, {}
    with Progress(network.n_weights, "layerwise proof", enabled=progress) as bar:
        for layer in range(network.depth):
            chain = [links["output"]] + [links[l] for l in range(network.depth - 1, layer, -1)]
            for index, link in zip(network.weights(layer), links[("weights", layer)]):
                failed = next((l for l in chain + [link] if not l.ok), None)
                _, row, col = network.position(index)
                if failed is None:
                    conditions = tuple(dict.fromkeys(c for l in chain + [link] for c in l.conditions))
                    results[index] = WeightProof(index, PROVEN, claimed=real.gradients[layer][row, col],
                                                 conditions=conditions)
                else:
                    declined[index] = failed
                bar.advance()
    return results, declined


def _fallback(ours: SymbolicNetwork, judge: Judge, real: RealRun, declined: dict, given: dict) -> dict:
    """The declined weights, decided on the real run's entries: a denominator that is identically zero or
    a real counterexample refutes; small networks go to the exact method; the rest stays undecided."""
    net = ours.network
    symbol = dict(zip(net.weights(), ours.weight_symbols))
    entries = {}
    for index in declined:
        layer, row, col = net.position(index)
        entries[index] = real.gradients[layer][row, col].xreplace(given)
    results = {}
    for index, entry in entries.items():
        checked = judge.denominators.of(entry)
        if checked.status == ZERO:
            results[index] = judge.divides_by_zero(index, symbol[index], checked.zero, entry)
    open_ = {symbol[i]: e for i, e in entries.items() if i not in results}
    found = find_counterexamples(ours, open_, judge.evaluator) if open_ else {}
    for index, entry in entries.items():
        if index not in results and symbol[index] in found:
            results[index] = WeightProof(index, REFUTED, claimed=entry, counterexample=found[symbol[index]])
    rest = [i for i in entries if i not in results]
    if rest and net.n_weights <= EXACT_FALLBACK:
        results.update(judge.exactly({i: entries[i] for i in rest}, given))
    for index in rest:
        results.setdefault(index, WeightProof(index, UNDECIDED, claimed=entries[index], reason=(
            f"layerwise declined it ({declined[index].name}: {declined[index].why}) and no real network was "
            "found where it differs: prove it with --method exact or random")))
    return results


def _notes(links: dict, declined: dict, results: dict, network: Network) -> tuple[str, ...]:
    """Which identities do not hold for this recurrence, and how the weights resting on them were decided."""
    if not declined:
        return ()
    failed = [links["output"]] + [links[l] for l in range(network.depth - 1, 0, -1)]
    notes = [f"not proven for this recurrence: {link.name}: {link.statement}: {link.why}"
             for link in failed if not link.ok]
    for layer in range(network.depth):
        bad = [link for link in links[("weights", layer)] if not link.ok]
        if bad:
            notes.append(f"not proven for this recurrence: {len(bad)} weight entr{'y' if len(bad) == 1 else 'ies'} "
                         f"of layer {layer}: ∂E/∂w = Ψᵢ·X̄ʲ: {bad[0].why}")
    counts = {status: sum(results[i].status == status for i in declined) for status in (PROVEN, REFUTED, UNDECIDED)}
    how = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    exact = "; by the exact method where no counterexample settled it" if network.n_weights <= EXACT_FALLBACK else ""
    notes.append(f"layerwise declined the {len(declined)} weight(s) resting on these: decided on the real run's "
                 f"entries instead (a zero denominator or a real network where they differ refutes{exact}): {how}")
    return tuple(notes)
