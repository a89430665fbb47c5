"""The layer-local proof: the chain-rule identities the recurrence compresses, one layer at a time.

Every weighted sum z[l] and every Ψ[l] is a free symbol here (ˡzᵢ, ˡΨᵢ), so each identity is small and the
total work grows linearly with the number of weights. For the recurrence under test it proves:

1. **output**: Ψ[L−1]ₖ = ∂E/∂z[L−1]ₖ, with E = loss(a(z[L−1]), y) differentiated by ``sympy.diff``;
2. **step** (l = L−1 … 1): Ψ[l−1]ⱼ = Σᵢ Ψ[l]ᵢ·∂z[l]ᵢ/∂z[l−1]ⱼ for any values of Ψ[l], with
   z[l] = W̄[l]·[1; a(z[l−1])] (only the addend W̄[l]ᵢⱼ·a(z[l−1]ⱼ) of z[l]ᵢ holds z[l−1]ⱼ, and it is
   differentiated by ``sympy.diff``);
3. **weights**: ∂E/∂ˡwʲᵢ = Σₖ Ψ[l]ₖ·∂z[l]ₖ/∂ˡwʲᵢ = Ψ[l]ᵢ·X̄[l]ʲ (only z[l]ᵢ holds ˡwʲᵢ).

E depends on W̄[l] and z[l−1] only through z[l], so by the chain rule and induction from the output,
(1)–(3) give ∂E/∂w = the recurrence's entry for every weight. What is assumed, not proven by sympy: the
multivariable chain rule, and the layered structure of the network (by construction).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.proof.counterexample import Counterexample, evaluate
from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.recurrence import PsiRecurrence, composes_its_steps
from gradproof.derive.proof.identity import Decision, decide_zero
from gradproof.derive.proof.assumptions import target_assumptions
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Lemma, Proof, WeightProof
from gradproof.derive.model.network import Network
from gradproof.derive.runtime.progress import Progress
from gradproof.derive.symbolic.forms import activation_form, loss_form
from gradproof.derive.symbolic.symbols import Input, PsiEntry, Target, Weight

METHOD = "layerwise"
STATEMENT = ("for this architecture, layer by layer: Ψ at the output is ∂E/∂z there; each step of the "
             "recurrence is the chain rule from one layer's weighted sums to the layer below, for any values "
             "of Ψ above; each weight's entry is Ψᵢ·X̄ʲ = ∂E/∂z·∂z/∂w. With the chain rule and the layered "
             "structure, by induction from the output: ∂E/∂w equals the recurrence's entry for every weight")
ASSUMED = ("the multivariable chain rule; the network's layered structure (E depends on W̄[l] and z[l−1] "
           "only through z[l]), which holds by construction")


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


def prove_layerwise(network: Network, recurrence: PsiRecurrence, progress: bool = False):
    """The layer-local proof of ``recurrence`` on ``network`` (see the module doc)."""
    if not composes_its_steps(recurrence):
        raise InputError("the layerwise proof needs a recurrence written step by step (a PsiRecurrence that "
                         "keeps its gradients() loop): prove any other with --method exact")
    start = time.perf_counter()
    local = LocalNetwork(network)
    given, assumptions = target_assumptions(local)
    lemmas = [_output_lemma(local, recurrence, given)]
    steps = {}
    for layer in range(network.depth - 1, 0, -1):
        steps[layer] = _step_lemma(local, recurrence, layer)
        lemmas.append(steps[layer])
    results = []
    with Progress(network.n_weights, "layerwise proof", enabled=progress) as bar:
        for layer in range(network.depth):
            above = [lemmas[0]] + [steps[l] for l in range(layer + 1, network.depth)]
            upstream_ok = all(lemma.status == PROVEN for lemma in above)
            for index, direct, claimed, decision in _weight_lemmas(local, recurrence, layer):
                status, witness = PROVEN, None
                if not decision.is_zero:
                    witness = _local_counterexample(local, direct, claimed)
                    status = REFUTED if witness else UNDECIDED
                elif not upstream_ok:
                    status = UNDECIDED  # its own identity holds, but its Ψ came through a wrong step
                results.append(WeightProof(index, status, direct, claimed, decision, witness))
                bar.advance()
    return Proof(network, recurrence.description, METHOD, STATEMENT, tuple(results),
                 tuple(lemmas + lemmas_for(network)), assumptions + (ASSUMED,), time.perf_counter() - start)


def _psi_symbols(network: Network, layer: int) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([PsiEntry(layer, i) for i in range(1, network.sizes[layer + 1] + 1)])


def _output_lemma(local: LocalNetwork, recurrence, given) -> Lemma:
    top = local.network.depth - 1
    claimed = recurrence.output_psi(local)
    differences = [sp.diff(local.error, zeta).xreplace(given) - c.xreplace(given)
                   for zeta, c in zip(local.z[top], claimed)]
    return _lemma(f"output Ψ[{top}]", f"Ψ[{top}] = ∂E/∂z[{top}]", differences, local)


def _step_lemma(local: LocalNetwork, recurrence, layer: int) -> Lemma:
    net = local.network
    psi = _psi_symbols(net, layer)
    claimed = recurrence.propagate(local, layer, psi)
    bias = int(net.bias)
    differences = []
    for j, zeta in enumerate(local.z[layer - 1]):
        addend = local.xbar[layer][j + bias]  # a(z[l−1]ⱼ): the only place z[l−1]ⱼ enters z[l]
        slope = sp.diff(addend, zeta)
        chain = sp.Add(*(psi[i] * local.wbar[layer][i, j + bias] * slope for i in range(net.sizes[layer + 1])))
        differences.append(chain - claimed[j])
    return _lemma(f"step Ψ[{layer - 1}] from Ψ[{layer}]",
                  f"Ψ[{layer - 1}]ⱼ = Σᵢ Ψ[{layer}]ᵢ·∂z[{layer}]ᵢ/∂z[{layer - 1}]ⱼ (the chain rule)", differences, local)


#: ∂(w·x)/∂w for a weight w and an input x free of it, by ``sympy.diff``, once: every weight's addend
#: ˡwʲᵢ·X̄ʲ of z[l]ᵢ is an instance (X̄[l] does not depend on W̄[l])
_W, _X = sp.symbols("w x")
SLOPE = sp.Lambda(_X, sp.diff(_W * _X, _W))


def _weight_lemmas(local: LocalNetwork, recurrence, layer: int):
    net = local.network
    psi = _psi_symbols(net, layer)
    claimed = recurrence.weight_gradient(local, layer, psi)
    xbar = local.xbar[layer]
    for index in net.weights(layer):
        _, row, col = net.position(index)
        direct = psi[row] * SLOPE(xbar[col])  # z[l]ᵢ = … + ˡwʲᵢ·X̄ʲ + …: only its own addend holds the weight
        difference = direct - claimed[row, col]
        decision = Decision(True, None, {}) if difference == 0 else decide_zero([difference])[0]
        yield index, direct, claimed[row, col], decision


def _lemma(name: str, statement: str, differences, local: LocalNetwork) -> Lemma:
    decisions = decide_zero(differences)
    if all(d.is_zero for d in decisions):
        return Lemma(name, statement, PROVEN, "polynomial identity")
    wrong = next(diff for diff, d in zip(differences, decisions) if not d.is_zero)
    witness = _local_counterexample(local, wrong, sp.Integer(0))
    return Lemma(name, statement + (f": refuted, {witness.describe()}" if witness else ": undecided"),
                 REFUTED if witness else UNDECIDED, "polynomial identity")


def _local_counterexample(local: LocalNetwork, left, right, tries: int = 16) -> Counterexample | None:
    """Random values for every free symbol (weights, inputs, targets, z's and Ψ's) where left ≠ right."""
    rng = random.Random(0)
    symbols = sorted((left - right).free_symbols | set(local.y), key=str)
    for _ in range(tries):
        point = {s: sp.Rational(rng.randint(-10**6, 10**6), 10**6) for s in symbols}
        if local.network.loss.targets == "probabilities":
            values = [sp.Rational(rng.randint(1, 10**6), 10**6) for _ in local.y]
            point.update({t: v / sum(values) for t, v in zip(local.y, values)})
        a, b = evaluate(left, point), evaluate(right, point)
        if abs(a - b) > sp.Float(10) ** -30 * max(1, abs(a), abs(b)):
            return Counterexample(point, a, b)
    return None
