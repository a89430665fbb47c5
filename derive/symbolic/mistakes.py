"""A catalogue of plausible hand-derivation mistakes, each a recurrence that gets one step wrong.

A mistake that cannot be made on a network (the mean's factor on a network without ``mse``, the softmax
Jacobian without a softmax) leaves that network's recurrence as it is.

They are the negative controls of every verifier here (a verifier that proves or passes one is broken),
and what a report compares a wrong gradient with to say "this looks like …". Each mistake says when it
applies to a network (some need square layers, a bias, a particular loss) and which weights it makes
wrong, so a test can demand that exactly those are refuted. Their numeric twins, with the same names,
are in :mod:`gradproof.numeric.checks.mistakes`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.proof.counterexample import evaluate, random_point
from gradproof.derive.symbolic.recurrence import PsiRecurrence
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.model.network import Network, WeightIndex


def _vjp(sym, layer, g):
    return sp.ImmutableMatrix(sym.activations[layer].vjp(list(sym.z[layer]), list(g)))


class BiasColumnKept(PsiRecurrence):
    description = "the bias column of W̄ was not dropped when Ψ went down a layer"

    def propagate(self, sym, layer, psi):
        back = (sym.wbar[layer].T * psi)[: sym.network.sizes[layer], :]
        return _vjp(sym, layer - 1, back)


class MissingActivationDerivative(PsiRecurrence):
    description = "a'(z) is missing when Ψ goes down a layer"

    def propagate(self, sym, layer, psi):
        return sp.ImmutableMatrix(sym.wbar[layer][:, int(sym.network.bias):].T * psi)


class DerivativeAtActivation(PsiRecurrence):
    description = "a' was evaluated at a(z) instead of z"

    def propagate(self, sym, layer, psi):
        act = sym.activations[layer - 1]
        back = sym.wbar[layer][:, int(sym.network.bias):].T * psi
        return sp.ImmutableMatrix([g * act.derivative(act.function(z)) for g, z in zip(back, sym.z[layer - 1])])


class NotTransposed(PsiRecurrence):
    description = "W̄ was not transposed when Ψ went down a layer"

    def propagate(self, sym, layer, psi):
        weights = sym.wbar[layer][:, int(sym.network.bias):]
        return _vjp(sym, layer - 1, weights * psi if weights.is_square else weights.T * psi)


class OuterProductReversed(PsiRecurrence):
    """Where W̄[l] is square the wrong order goes unnoticed; elsewhere its shape gives it away."""

    description = "the outer product was taken in the wrong order (X̄ ⊗ Ψ instead of Ψ ⊗ X̄)"

    def weight_gradient(self, sym, layer, psi):
        if sym.wbar[layer].is_square:
            return sp.ImmutableMatrix(sym.xbar[layer] * psi.T)
        return super().weight_gradient(sym, layer, psi)


class WrongLayerInput(PsiRecurrence):
    description = "∂E/∂W̄[l] used the layer's output [1; a(z[l])] instead of its input X̄[l]"

    def weight_gradient(self, sym, layer, psi):
        own = [sp.Integer(1)] * sym.network.bias + sym.activated(layer)
        if len(own) != sym.xbar[layer].rows:
            return super().weight_gradient(sym, layer, psi)
        return sp.ImmutableMatrix(psi * sp.ImmutableMatrix(own).T)


class HalfSseRuleWithMean(PsiRecurrence):
    description = "Ψ at the output used ∂E/∂a = a − y (half-sse's) with the true mean (1/n)·Σ(a − y)²"

    def output_psi(self, sym):
        if sym.network.loss.name != "mse":
            return super().output_psi(sym)
        act = sym.activations[-1]
        return sp.ImmutableMatrix(act.vjp(list(sym.z[-1]), [a - y for a, y in zip(sym.output, sym.y)]))


class FactorTwoDropped(PsiRecurrence):
    description = "the factor 2 of d/da (a − y)² was dropped"

    def output_psi(self, sym):
        if sym.network.loss.name != "mse":
            return super().output_psi(sym)
        n = len(sym.output)
        act = sym.activations[-1]
        return sp.ImmutableMatrix(act.vjp(list(sym.z[-1]), [(a - y) / n for a, y in zip(sym.output, sym.y)]))


class SoftmaxJacobianIgnored(PsiRecurrence):
    description = "the softmax was differentiated elementwise (a ⊙ (1 − a)), ignoring its Jacobian"

    def output_psi(self, sym):
        if sym.network.activations[-1].name != "softmax":
            return super().output_psi(sym)
        grad = sym.loss.gradient(sym.output, sym.y)
        return sp.ImmutableMatrix([g * a * (1 - a) for g, a in zip(grad, sym.output)])


class CrossEntropyShortcut(PsiRecurrence):
    description = "Ψ at the output is a − y, the cross-entropy shortcut, used where it does not hold"

    def output_psi(self, sym):
        return sp.ImmutableMatrix([a - y for a, y in zip(sym.output, sym.y)])


class LoopEndsEarly(PsiRecurrence):
    description = "the layer loop stopped one layer early: ∂E/∂W̄[0] was never computed (left at 0)"

    def gradients(self, sym):
        grads = list(super().gradients(sym))
        grads[0] = sp.zeros(*grads[0].shape)
        return tuple(grads)


class SignError(PsiRecurrence):
    description = "a sign error: Ψ at the output is y − a instead of a − y"

    def output_psi(self, sym):
        return -super().output_psi(sym)


class BiasGradientsLeftOut(PsiRecurrence):
    description = "the bias gradients were left out (the bias column of ∂E/∂W̄ is 0)"

    def weight_gradient(self, sym, layer, psi):
        full = super().weight_gradient(sym, layer, psi)
        if not sym.network.bias:
            return full
        return sp.ImmutableMatrix.hstack(sp.zeros(full.rows, 1), full[:, 1:])


# --- which weights each mistake makes wrong ---------------------------------------------------------

def _layers(network: Network, layers) -> set[WeightIndex]:
    return {w for w in network.weights() if w.layer in set(layers)}


def _below_highest(network: Network, layers) -> set[WeightIndex]:
    """Every weight at or below the highest of ``layers`` (its Ψ went wrong and carried down)."""
    return _layers(network, range(max(layers) + 1)) if layers else set()


def _nonlinear(network: Network, exclude=("identity",)) -> list[int]:
    return [l for l in range(network.depth - 1) if network.activations[l].name not in exclude]


def _square_steps(network: Network) -> list[int]:
    """Layers l ≥ 1 whose W̄[l][:, 1:] is square (and larger than 1×1)."""
    return [l for l in range(1, network.depth) if network.sizes[l + 1] == network.sizes[l] > 1]


@dataclass(frozen=True)
class Mistake:
    """A named mistake: its recurrence and the weights it makes wrong on a network (empty: no harm)."""

    name: str
    recurrence: PsiRecurrence
    harm: Callable[[Network], set[WeightIndex]]

    @property
    def description(self) -> str:
        return self.recurrence.description

    def affected(self, network: Network) -> set[WeightIndex]:
        """The weights whose gradient the mistake makes wrong on ``network``. A softmax over one output is
        the constant 1, so there E and every gradient are 0 and no mistake can do harm."""
        if network.activations[-1].name == "softmax" and network.sizes[-1] == 1:
            return set()
        return self.harm(network)

    def applies(self, network: Network) -> bool:
        """Whether the mistake does harm on ``network`` (and can be written down for it)."""
        return bool(self.affected(network))


def _all(network: Network) -> set[WeightIndex]:
    return set(network.weights())


def _when(condition: Callable[[Network], bool], then: Callable[[Network], set]) -> Callable[[Network], set]:
    return lambda network: then(network) if condition(network) else set()


def _shortcut_holds(network: Network) -> bool:
    """a − y is Ψ at the output: the loss collapses there, or a linear output with ½·Σ(a − y)²
    (or the mean over two outputs, whose 2/n is 1)."""
    linear = network.activations[-1].name == "identity"
    return _collapses(network) or linear and (network.loss.name == "half-sse"
                                              or network.loss.name == "mse" and network.sizes[-1] == 2)


def _collapses(network: Network) -> bool:
    return network.loss.collapses_with(network.activations[-1])


MISTAKES: dict[str, Mistake] = {m.name: m for m in (
    Mistake("bias-column-kept", BiasColumnKept(),
            lambda net: _layers(net, range(net.depth - 1)) if net.bias else set()),
    Mistake("missing-a-prime", MissingActivationDerivative(), lambda net: _below_highest(net, _nonlinear(net))),
    Mistake("a-prime-at-activation", DerivativeAtActivation(),
            lambda net: _below_highest(net, _nonlinear(net, exclude=("identity", "relu")))),
    Mistake("not-transposed", NotTransposed(),
            lambda net: _layers(net, range(max(_square_steps(net)))) if _square_steps(net) else set()),
    Mistake("outer-product-reversed", OuterProductReversed(),  # its diagonal happens to be right
            lambda net: {w for w in _layers(net, [l for l in range(net.depth) if net.shape(l)[0] == net.shape(l)[1]])
                         if net.position(w)[1] != net.position(w)[2]}),
    Mistake("wrong-layer-input", WrongLayerInput(),  # the bias input is 1 in both
            lambda net: {w for w in _layers(net, [l for l in range(net.depth) if net.sizes[l] == net.sizes[l + 1]])
                         if w.source != 0 or not net.bias}),
    Mistake("half-sse-rule-with-mse", HalfSseRuleWithMean(),
            _when(lambda net: net.loss.name == "mse" and net.sizes[-1] != 2, _all)),
    Mistake("factor-2-dropped", FactorTwoDropped(), _when(lambda net: net.loss.name == "mse", _all)),
    Mistake("softmax-jacobian-ignored", SoftmaxJacobianIgnored(),
            _when(lambda net: net.activations[-1].name == "softmax" and net.sizes[-1] > 1, _all)),
    Mistake("cross-entropy-shortcut", CrossEntropyShortcut(), _when(lambda net: not _shortcut_holds(net), _all)),
    Mistake("loop-ends-early", LoopEndsEarly(), lambda net: _layers(net, [0])),
    Mistake("sign-error", SignError(), _all),
    Mistake("bias-gradients-left-out", BiasGradientsLeftOut(),
            lambda net: {w for w in net.weights() if w.source == 0} if net.bias else set()),
)}


def recognise(sym, claimed) -> list[str]:
    """The catalogued mistakes whose gradients equal ``claimed`` (one matrix per layer) on every weight:
    screened at a random point (40 digits), then decided exactly."""
    point = random_point(sym, random.Random(0))
    found = []
    for name, mistake in MISTAKES.items():
        if not mistake.applies(sym.network):
            continue
        pairs = [(c, t) for cm, tm in zip(claimed, mistake.recurrence.gradients(sym)) for c, t in zip(cm, tm)]
        if any(abs(evaluate(c, point) - evaluate(t, point)) > 1e-25 * (1 + abs(evaluate(c, point)))
               for c, t in pairs):
            continue
        if all(d.is_zero for d in decide_zero([c - t for c, t in pairs])):
            found.append(f"this looks like a known mistake: {mistake.description} ({name})")
    return found
