"""The randomized exact identity test (Schwartz–Zippel).

Both sides are evaluated exactly, modulo the prime p = 2⁶¹ − 1, at a random point: every weight, input and
target, and every activation value a(z), a'(z), σ(z), e^z, … (the unknowns of the polynomial identity
that :mod:`gradproof.derive.proof.identity` decides) drawn uniformly from GF(p). The direct side is the definition
differentiated forward: ∂E/∂z at the output by ``sympy.diff``, each activation's slope by ``sympy.diff``
of its function, then Jacobians multiplied upward from the weight (forward mode, the opposite order to
the recurrence's). The claimed side is the recurrence itself, run on the network with those numbers.

What it proves: if for some weight the two sides differ as rational functions of the unknowns, the
numerator of their difference is a nonzero polynomial of degree at most d, which vanishes at a uniform
random point with probability at most d/p. So every weight that agrees is right except with probability
at most W·d/p per round over the W weights (rounds multiply it), where d ≤ (n_L + 2)·(5L + 5): along a
path a weight, a slope a' (degree ≤ 2 in the activation values) and the layer's input contribute at most
5 per layer, the output factor at most 5, and a quotient at the output (softmax, cross-entropy) at most
n_L + 2 times that after clearing denominators.
"""

from __future__ import annotations

import random
import time

import numpy as np
import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.recurrence import PsiRecurrence, composes_its_steps
from gradproof.derive.proof.layerwise import LocalNetwork
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Proof, WeightProof
from gradproof.derive.model.network import Network
from gradproof.derive.runtime.progress import Progress

P = 2 ** 61 - 1
METHOD = "random"


def degree_bound(network: Network) -> int:
    return (network.sizes[-1] + 2) * (5 * network.depth + 5)


def error_probability(network: Network, rounds: int) -> float:
    return float(min(1.0, network.n_weights * degree_bound(network) / P) ** rounds)


def _mod(value) -> int:
    """An exact rational as an element of GF(p)."""
    value = sp.Rational(value)
    numerator, denominator = int(value.p) % P, int(value.q) % P
    if denominator == 0:
        raise ZeroDivisionError
    return numerator * pow(denominator, P - 2, P) % P


class _Point:
    """A random point: numbers for the weights, inputs, targets and every activation value, layer by layer."""

    def __init__(self, local: LocalNetwork, rng: random.Random):
        net = local.network
        self.rng = rng
        draw = self.draw
        self.values: dict = {w: draw() for m in local.wbar for w in m}
        self.values.update({x: draw() for x in local.x})
        targets = [draw() for _ in local.y]
        if net.loss.targets == "probabilities":  # Σ y = 1, in GF(p)
            targets[-1] = (1 - sum(targets[:-1])) % P
        self.values.update(zip(local.y, targets))
        self.xbar = [[self.number(e) for e in local.xbar[0]]]
        self.slopes = []
        for layer, (act, form) in enumerate(zip(net.activations, local.activations)):
            w = [[self.values[e] for e in local.wbar[layer].row(r)] for r in range(local.wbar[layer].rows)]
            z = [sum(a * b for a, b in zip(row, self.xbar[layer])) % P for row in w]
            zetas = list(local.z[layer])
            if act.name == "identity":  # a(z) = z: no unknown, the weighted sum itself
                self.values.update(zip(zetas, z))
            applications = set()
            for expr in list(form.forward(zetas)) + [sp.diff(f, zeta) for f, zeta in zip(form.forward(zetas), zetas)]:
                applications |= expr.atoms(sp.Function)
            self.values.update({app: draw() for app in sorted(applications, key=sp.default_sort_key)})
            if layer + 1 < net.depth:
                self.xbar.append([self.number(e) for e in local.xbar[layer + 1]])
                self.slopes.append([self.number(sp.diff(f, zeta)) for f, zeta in zip(form.forward(zetas), zetas)])

    def draw(self) -> int:
        return self.rng.randrange(1, P)

    def number(self, expr) -> int:
        """``expr`` at this point, in GF(p) (exact: sympy rationals, reduced). A function application
        met for the first time (a'(a(z)) in a mistaken recurrence) is a new unknown: it gets its own value."""
        expr = sp.sympify(expr)
        fresh = [f for f in expr.atoms(sp.Function) if f not in self.values]  # (a keys view would be copied)
        for application in sorted(fresh, key=sp.default_sort_key):
            self.values[application] = self.draw()
        value = sp.sympify(expr.xreplace(self.values))
        if not value.is_Rational:
            raise ValueError(f"the random method cannot evaluate {value}: it holds unknowns it has no value for")
        return _mod(value)


def _matmul(a, b):
    """Exact product of integer matrices modulo p (object arrays of Python ints)."""
    return np.dot(a, b) % P


def direct_gradients(local: LocalNetwork, point: _Point) -> list[np.ndarray]:
    """∂E/∂W̄[m] for every layer by forward mode: J = ∂z[L−1]/∂z[m] built upward from layer m."""
    net = local.network
    bias = int(net.bias)
    output = np.array([point.number(sp.diff(local.error, zeta)) for zeta in local.z[-1]], dtype=object)
    wbar = [np.array([[point.values[e] for e in m.row(r)] for r in range(m.rows)], dtype=object) for m in local.wbar]
    grads = []
    for m in range(net.depth):
        jac = np.identity(net.sizes[m + 1], dtype=object)
        for layer in range(m + 1, net.depth):
            scaled = wbar[layer][:, bias:] * np.array(point.slopes[layer - 1], dtype=object)[None, :]
            jac = _matmul(scaled, jac)
        row = _matmul(output[None, :], jac)[0]
        grads.append(np.outer(row, np.array(point.xbar[m], dtype=object)) % P)
    return grads


def claimed_gradients(local: LocalNetwork, recurrence: PsiRecurrence, point: _Point) -> list[np.ndarray]:
    """The recurrence's ∂E/∂W̄[l], run layer by layer on the local network and reduced to numbers."""
    net = local.network
    psi = sp.ImmutableMatrix([point.number(e) for e in recurrence.output_psi(local)])
    grads = [None] * net.depth
    for layer in range(net.depth - 1, -1, -1):
        entries = recurrence.weight_gradient(local, layer, psi)
        grads[layer] = np.array([[point.number(e) for e in entries.row(r)] for r in range(entries.rows)],
                                dtype=object)
        if layer:
            psi = sp.ImmutableMatrix([point.number(e) for e in recurrence.propagate(local, layer, psi)])
    return grads


def prove_random(network: Network, recurrence: PsiRecurrence, rounds: int = 2, seed: int = 0,
                 progress: bool = False):
    """The randomized identity test of ``recurrence`` on ``network`` (see the module doc)."""
    if not composes_its_steps(recurrence):
        raise InputError("the random method runs the recurrence step by step (a PsiRecurrence that keeps its "
                         "gradients() loop): prove any other with --method exact")
    start = time.perf_counter()
    local = LocalNetwork(network)
    rng = random.Random(seed)
    agree = [np.ones(shape, dtype=bool) for shape in network.shapes]
    with Progress(rounds, "random identity test", enabled=progress) as bar:
        for _ in range(rounds):
            point = _Point(local, rng)
            for layer, (d, c) in enumerate(zip(direct_gradients(local, point), claimed_gradients(local, recurrence, point))):
                agree[layer] &= d == c
            bar.advance()
    generic = all(act.name == "generic" or act.name == "identity" for act in network.activations[:-1])
    results = []
    for index in network.weights():
        layer, row, col = network.position(index)
        # disagreement refutes the identity in the activation values; for the generic activation that is
        # a real counterexample (some differentiable a takes those values), otherwise it is a strong hint
        status = PROVEN if agree[layer][row, col] else (REFUTED if generic else UNDECIDED)
        results.append(WeightProof(index, status))
    probability = error_probability(network, rounds)
    statement = (f"for this architecture, at {rounds} random point(s) of GF(2⁶¹ − 1): every agreeing ∂E/∂w "
                 f"equals the recurrence's entry as a rational function of the weights, inputs, targets and "
                 f"activation values, except with probability ≤ {probability:.1e} (Schwartz–Zippel, "
                 f"degree ≤ {degree_bound(network)}, {network.n_weights} weights)")
    return Proof(network, recurrence.description, METHOD, statement, tuple(results), tuple(lemmas_for(network)),
                 ("every a(z), a'(z), σ(z), e^z … an independent unknown (as in the exact method)",),
                 time.perf_counter() - start)
