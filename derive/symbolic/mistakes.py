"""A catalogue of plausible hand-derivation mistakes, each a recurrence that gets one step wrong.

A mistake that cannot be made on a network (the mean's factor on a network without ``mse``, the softmax
Jacobian without a softmax) leaves that network's recurrence as it is.

They are the negative controls of every verifier here (a verifier that proves or passes one is broken),
and what a report compares a wrong gradient with to say "this looks like …". Each mistake says when it
applies to a network (some need square layers, a bias, a particular loss) and which weights it makes
wrong, so a test can demand that exactly those are refuted (the catalogue's entries, which need no sympy:
:mod:`gradproof.derive.model.mistakes`). Their numeric twins, with the same names, are in
:mod:`gradproof.numeric.checks.mistakes`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.proof.counterexample import evaluate, random_point
from gradproof.derive.symbolic.recurrence import PsiRecurrence
from gradproof.derive.proof.denominators import NONZERO, POSITIVE, DenominatorCheck
from gradproof.derive.proof.evaluation import Undefined
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.model.mistakes import CATALOGUE
from gradproof.derive.model.network import Network, WeightIndex


def _vjp(sym, layer, g):
    return sp.ImmutableMatrix(sym.activations[layer].vjp(list(sym.z[layer]), list(g)))


class BiasColumnKept(PsiRecurrence):
    description = CATALOGUE["bias-column-kept"].description

    def propagate(self, sym, layer, psi):
        back = (sym.wbar[layer].T * psi)[: sym.network.sizes[layer], :]
        return _vjp(sym, layer - 1, back)


class MissingActivationDerivative(PsiRecurrence):
    description = CATALOGUE["missing-a-prime"].description

    def propagate(self, sym, layer, psi):
        return sp.ImmutableMatrix(sym.wbar[layer][:, int(sym.network.bias):].T * psi)


class DerivativeAtActivation(PsiRecurrence):
    description = CATALOGUE["a-prime-at-activation"].description

    def propagate(self, sym, layer, psi):
        act = sym.activations[layer - 1]
        back = sym.wbar[layer][:, int(sym.network.bias):].T * psi
        return sp.ImmutableMatrix([g * act.derivative(act.function(z)) for g, z in zip(back, sym.z[layer - 1])])


class NotTransposed(PsiRecurrence):
    description = CATALOGUE["not-transposed"].description

    def propagate(self, sym, layer, psi):
        weights = sym.wbar[layer][:, int(sym.network.bias):]
        return _vjp(sym, layer - 1, weights * psi if weights.is_square else weights.T * psi)


class OuterProductReversed(PsiRecurrence):
    """Where W̄[l] is square the wrong order goes unnoticed; elsewhere its shape gives it away."""

    description = CATALOGUE["outer-product-reversed"].description

    def weight_gradient(self, sym, layer, psi):
        if sym.wbar[layer].is_square:
            return sp.ImmutableMatrix(sym.xbar[layer] * psi.T)
        return super().weight_gradient(sym, layer, psi)


class WrongLayerInput(PsiRecurrence):
    description = CATALOGUE["wrong-layer-input"].description

    def weight_gradient(self, sym, layer, psi):
        own = [sp.Integer(1)] * sym.network.bias + sym.activated(layer)
        if len(own) != sym.xbar[layer].rows:
            return super().weight_gradient(sym, layer, psi)
        return sp.ImmutableMatrix(psi * sp.ImmutableMatrix(own).T)


class HalfSseRuleWithMean(PsiRecurrence):
    description = CATALOGUE["half-sse-rule-with-mse"].description

    def output_psi(self, sym):
        if sym.network.loss.name != "mse":
            return super().output_psi(sym)
        act = sym.activations[-1]
        return sp.ImmutableMatrix(act.vjp(list(sym.z[-1]), [a - y for a, y in zip(sym.output, sym.y)]))


class FactorTwoDropped(PsiRecurrence):
    description = CATALOGUE["factor-2-dropped"].description

    def output_psi(self, sym):
        if sym.network.loss.name != "mse":
            return super().output_psi(sym)
        n = len(sym.output)
        act = sym.activations[-1]
        return sp.ImmutableMatrix(act.vjp(list(sym.z[-1]), [(a - y) / n for a, y in zip(sym.output, sym.y)]))


class SoftmaxJacobianIgnored(PsiRecurrence):
    description = CATALOGUE["softmax-jacobian-ignored"].description

    def output_psi(self, sym):
        if sym.network.activations[-1].name != "softmax":
            return super().output_psi(sym)
        grad = sym.loss.gradient(sym.output, sym.y)
        return sp.ImmutableMatrix([g * a * (1 - a) for g, a in zip(grad, sym.output)])


class CrossEntropyShortcut(PsiRecurrence):
    description = CATALOGUE["cross-entropy-shortcut"].description

    def output_psi(self, sym):
        return sp.ImmutableMatrix([a - y for a, y in zip(sym.output, sym.y)])


class LoopEndsEarly(PsiRecurrence):
    description = CATALOGUE["loop-ends-early"].description

    def gradients(self, sym):
        grads = list(super().gradients(sym))
        grads[0] = sp.zeros(*grads[0].shape)
        return tuple(grads)


class SignError(PsiRecurrence):
    description = CATALOGUE["sign-error"].description

    def output_psi(self, sym):
        return -super().output_psi(sym)


class BiasGradientsLeftOut(PsiRecurrence):
    description = CATALOGUE["bias-gradients-left-out"].description

    def weight_gradient(self, sym, layer, psi):
        full = super().weight_gradient(sym, layer, psi)
        if not sym.network.bias:
            return full
        return sp.ImmutableMatrix.hstack(sp.zeros(full.rows, 1), full[:, 1:])


@dataclass(frozen=True)
class Mistake:
    """A named mistake: its recurrence, and the catalogue's entry that says which weights it makes wrong."""

    name: str
    recurrence: PsiRecurrence

    @property
    def description(self) -> str:
        return self.recurrence.description

    def affected(self, network: Network) -> set[WeightIndex]:
        """The weights whose gradient the mistake makes wrong on ``network`` (:mod:`gradproof.derive.model.mistakes`)."""
        return CATALOGUE[self.name].affected(network)

    def applies(self, network: Network) -> bool:
        """Whether the mistake does harm on ``network`` (and can be written down for it)."""
        return CATALOGUE[self.name].applies(network)


MISTAKES: dict[str, Mistake] = {name: Mistake(name, recurrence) for name, recurrence in (
    ("bias-column-kept", BiasColumnKept()),
    ("missing-a-prime", MissingActivationDerivative()),
    ("a-prime-at-activation", DerivativeAtActivation()),
    ("not-transposed", NotTransposed()),
    ("outer-product-reversed", OuterProductReversed()),
    ("wrong-layer-input", WrongLayerInput()),
    ("half-sse-rule-with-mse", HalfSseRuleWithMean()),
    ("factor-2-dropped", FactorTwoDropped()),
    ("softmax-jacobian-ignored", SoftmaxJacobianIgnored()),
    ("cross-entropy-shortcut", CrossEntropyShortcut()),
    ("loop-ends-early", LoopEndsEarly()),
    ("sign-error", SignError()),
    ("bias-gradients-left-out", BiasGradientsLeftOut()),
)}


def _close_at(pairs, point) -> bool:
    try:
        return all(abs(evaluate(c, point) - evaluate(t, point)) <= 1e-25 * (1 + abs(evaluate(c, point)))
                   for c, t in pairs)
    except Undefined:
        return False


def recognise(sym, claimed) -> list[str]:
    """The catalogued mistakes whose gradients equal ``claimed`` (one matrix per layer) on every weight:
    screened at a random point (40 digits), then decided exactly."""
    point = random_point(sym, random.Random(0))
    found, check = [], DenominatorCheck()
    for name, mistake in MISTAKES.items():
        if not mistake.applies(sym.network):
            continue
        pairs = [(c, t) for cm, tm in zip(claimed, mistake.recurrence.gradients(sym)) for c, t in zip(cm, tm)]
        if not _close_at(pairs, point):
            continue
        if all(d.is_zero for d in decide_zero([c - t for c, t in pairs])) and \
                check.of(*(e for pair in pairs for e in pair)).status in (POSITIVE, NONZERO):
            found.append(f"this looks like a known mistake: {mistake.description} ({name})")
    return found
