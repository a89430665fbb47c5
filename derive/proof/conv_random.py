"""The randomized identity test for networks with convolutions, at their real size (linear cost).

Every weight, input and target, and every activation value a(z), a'(z), σ(z), … of every unit (the
unknowns of the exact method's polynomial identity), is drawn uniformly from GF(p), for a prime p drawn per
round from [2⁶¹, 2⁶²); so is a coefficient r_w per weight. For each layer l both sides of

    Σ_{w in layer l} r_w·∂E/∂w  =  Σ_{w in layer l} r_w·(the recurrence's entry for w)

are evaluated exactly modulo p. The left side is the definition differentiated forward: the tangent of
every z pushed by W̄[l] + t·R[l] carried up through the layers' *forward* maps (the convolution, never its
transpose), each activation's slope by ``sympy.diff`` of its form, ∂E/∂z at the output by ``sympy.diff``
of E. The right side is the recurrence's steps at the point: Ψ at the output from the recurrence's
``output_psi``, ∂E/∂W̄ = Σₚ Ψₚ ⊗ X̄ₚ, Ψ down through the transposed convolution (or W̄ᵀ), then the
activation form's backward rule — the array code (:mod:`gradproof.derive.model.conv_arrays`) the symbolic
steps (:mod:`gradproof.derive.symbolic.conv`) and the numeric check run.

What it proves: if some weight's two sides differ as rational functions of the unknowns, then so does the
combination (the r_w are unknowns too), a nonzero polynomial of degree ≤ d after clearing denominators,
which vanishes at a uniform random point with probability ≤ d/p (Schwartz–Zippel). So every layer that
agrees in every round is right for all its weights at once, except with probability ≤ L·(d/2⁶¹)^rounds.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np
import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.model.conv_arrays import (TRANSPOSED, correlate, kernel_of, patches, to_flat, to_maps,
                                                with_ones)
from gradproof.derive.model.network import Network
from gradproof.derive.proof.conv_forms import OutputForms, UnitForms, degree_bound
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, UNDECIDED, Lemma, Proof, WeightProof
from gradproof.derive.runtime.progress import Progress
from gradproof.derive.symbolic.forms import activation_form

METHOD = "random"


def error_probability(network: Network, bound: int, rounds: int) -> float:
    """L·(d/2⁶¹)^rounds: each layer's identity survives a round with probability ≤ d/p, p > 2⁶¹."""
    return float(min(1.0, network.depth * (bound / 2 ** 61) ** rounds))


def draw_prime(rng: random.Random) -> int:
    return int(sp.nextprime(rng.randrange(2 ** 61, 2 ** 62 - 2 ** 32)))


def _mod(value, p: int) -> int:
    value = sp.Rational(value)
    return int(value.p) % p * pow(int(value.q) % p, p - 2, p) % p


def evaluate(poly: sp.Poly, bindings: list, p: int):
    """The polynomial at object arrays (or ints) of residues, modulo p."""
    total = 0
    for monomial, coefficient in poly.terms():
        term = _mod(coefficient, p)
        for value, power in zip(bindings, monomial):
            if power:
                term = term * pow(value, power, p) if isinstance(value, int) else term * (value ** power % p)
        total = (total + term) % p
    return total


def _residues(rng: np.random.Generator, shape, p: int) -> np.ndarray:
    return rng.integers(1, p, size=shape, dtype=np.int64).astype(object)


@dataclass(frozen=True, eq=False)
class Point:
    """One random point: W̄, X̄ rows and z per layer, per hidden layer the unknowns, and the output's
    ∂E/∂z by the definition and by the recurrence."""

    p: int
    wbar: list
    rows: list
    z: list
    unknowns: list
    d_out: np.ndarray
    psi_out: np.ndarray


def _output(network: Network, output: OutputForms, z_out: np.ndarray, rng: random.Random, p: int):
    """∂E/∂z at the output by ``sympy.diff`` of E, and the recurrence's Ψ there, both at the point."""
    values = dict(zip(output.layer.z[-1], (int(v) for v in z_out)))
    targets = [rng.randrange(1, p) for _ in output.layer.y]
    if network.loss.targets == "probabilities":
        targets[-1] = (1 - sum(targets[:-1])) % p
    values.update(zip(output.layer.y, targets))
    found = []
    for expr in output.direct + output.claimed:
        fresh = sorted((f for f in expr.atoms(sp.Function) if f not in values), key=sp.default_sort_key)
        values.update({f: rng.randrange(1, p) for f in fresh})
        found.append(_mod(expr.xreplace(values), p))
    n = len(output.direct)
    return np.array(found[:n], dtype=object), np.array(found[n:], dtype=object)


def _rows(network: Network, layer: int, values: np.ndarray) -> np.ndarray:
    """X̄[l] rows (positions, cols) from the layer's input (a flat column, or maps)."""
    spec = network.layers[layer]
    if spec.kind == "conv":
        maps = to_maps(values.reshape(1, -1), spec.in_shape) if values.ndim == 1 else values
        rows = patches(maps, spec.kernel, spec.stride, spec.padding)
    else:
        rows = (to_flat(values) if values.ndim == 4 else values).reshape(1, -1)
    return with_ones(rows.reshape(-1, rows.shape[-1]), network.bias)


def _as_output(network: Network, layer: int, z: np.ndarray):
    """z[l] rows (positions, channels) as the layer's output: maps for a convolution, flat otherwise."""
    spec = network.layers[layer]
    return z.reshape(1, *spec.out_shape[1:], spec.channels) if spec.kind == "conv" else z.reshape(1, -1)


def draw_point(network: Network, output: OutputForms, forms: list, rng: random.Random, p: int) -> Point:
    generator = np.random.default_rng(rng.randrange(2 ** 63))
    wbar = [_residues(generator, shape, p) for shape in network.shapes]
    values = _residues(generator, (network.sizes[0],), p)
    rows, zs, unknowns = [], [], []
    for layer in range(network.depth):
        rows.append(_rows(network, layer, values))
        zs.append(rows[-1] @ wbar[layer].T % p)
        if layer < network.depth - 1:
            unit = forms[layer]
            unknowns.append([_residues(generator, zs[-1].shape, p) for _ in unit.gens[2:]])
            values = _as_output(network, layer, evaluate(unit.value, [zs[-1], 0] + unknowns[-1], p))
    d_out, psi_out = _output(network, output, zs[-1].reshape(-1), rng, p)
    return Point(p, wbar, rows, zs, unknowns, d_out, psi_out)


def _forward_map(network: Network, point: Point, layer: int, tangent: np.ndarray) -> np.ndarray:
    """The linear part of layer ``layer``'s forward map on a tangent of its input: rows (positions, O)."""
    spec, p = network.layers[layer], point.p
    if spec.kind == "conv":  # the layer below is a convolution too: the tangent is its maps
        out = correlate(tangent, kernel_of(point.wbar[layer], spec), spec.stride, spec.padding)
        return out.reshape(-1, spec.channels) % p
    flat = to_flat(tangent) if tangent.ndim == 4 else tangent
    return flat @ point.wbar[layer][:, int(network.bias):].T % p


def direct_side(network: Network, point: Point, forms: list, direction: list, layer: int) -> int:
    """Σ r_w·∂E/∂w over layer ``layer`` by forward mode: the tangent of W̄[l] + t·R[l] carried up."""
    p = point.p
    push = point.rows[layer] @ direction[layer].T % p
    for m in range(layer + 1, network.depth):
        unit = forms[m - 1]
        slope = evaluate(unit.slope, [point.z[m - 1], 0] + point.unknowns[m - 1], p)
        tangent = _as_output(network, m - 1, push * slope % p)
        push = _forward_map(network, point, m, tangent)
    return int(np.sum(push.reshape(-1) * point.d_out) % p)


def claimed_side(network: Network, point: Point, forms: list, direction: list, transposed=TRANSPOSED) -> list[int]:
    """Σ r_w·(the recurrence's entry) per layer: Ψ from the output down, Σₚ Ψₚ ⊗ X̄ₚ at each layer."""
    p, found = point.p, [0] * network.depth
    psi = point.psi_out.reshape(1, -1)
    for layer in range(network.depth - 1, -1, -1):
        spec = network.layers[layer]
        gradient = psi.T @ point.rows[layer] % p
        found[layer] = int(np.sum(gradient * direction[layer]) % p)
        if layer:
            if spec.kind == "conv":
                maps = psi.reshape(1, *spec.out_shape[1:], spec.channels)
                back = transposed(maps, kernel_of(point.wbar[layer], spec), spec.stride, spec.padding,
                                  spec.in_shape[1:]) % p
            else:
                back = psi @ point.wbar[layer][:, int(network.bias):] % p
            below = network.layers[layer - 1]
            back = (to_maps(back, below.out_shape) if back.ndim == 2 and below.kind == "conv" else back)
            back = back.reshape(-1, below.channels if below.kind == "conv" else below.outputs)
            unit = forms[layer - 1]
            psi = evaluate(unit.rule, [point.z[layer - 1], back] + point.unknowns[layer - 1], p)
    return found


@dataclass(frozen=True)
class ConvProof(Proof):
    """A proof whose verdicts hold layer by layer (one identity per layer covers all its weights), kept
    per layer rather than as one record per weight (1.7 million of them for the Atari network)."""

    layer_status: tuple = ()     # per layer: PROVEN or UNDECIDED

    @property
    def total(self) -> int:
        return self.network.n_weights

    @property
    def proven(self) -> int:
        return sum(n for n, status in zip(self._sizes(), self.layer_status) if status == PROVEN)

    @property
    def refuted(self) -> tuple:
        return ()

    @property
    def undecided(self) -> tuple:
        return ()   # a layer that disagrees is a failed lemma (``lemmas``), not 1.6 million weight records

    def _sizes(self) -> list[int]:
        return [layer.n_weights for layer in self.network.layers]

    def by_layer(self) -> list[tuple[int, int, int]]:
        return [(l, n if status == PROVEN else 0, n) for l, (n, status) in enumerate(zip(self._sizes(), self.layer_status))]

    def weight(self, index) -> WeightProof:
        wanted = self.network.check_weight(index)
        return WeightProof(wanted, self.layer_status[wanted.layer])

    def to_dict(self) -> dict:
        found = super().to_dict()
        found["weights"] = [{"layer": l, "proven": p, "total": n} for l, p, n in self.by_layer()]
        return found


def _check_recurrence(network: Network, recurrence) -> None:
    if type(recurrence).__name__ != "PsiRecurrence":
        raise InputError("on a network with convolutions the random method proves gradproof's recurrence (its "
                         "steps at every random point); prove your own with --method exact on a small network")
    if any(act.is_output_only for act in network.activations[:-1]):
        raise InputError("a hidden layer with a vector activation: the random method needs elementwise ones")


def prove_conv_random(network: Network, recurrence, rounds: int = 2, seed: int | None = None,
                      progress: bool | None = False, transposed=TRANSPOSED) -> ConvProof:
    """The randomized identity test of the recurrence on a network with convolutions (module doc).
    ``seed`` None draws the primes and points from the system's randomness; ``transposed`` replaces the
    transposed convolution's steps (a planted mistake must make a layer fail)."""
    _check_recurrence(network, recurrence)
    start = time.perf_counter()
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    forms = [UnitForms.of(activation_form(act)) for act in network.activations[:-1]]
    output = OutputForms.of(network, recurrence)
    bound = degree_bound(network, forms, output)
    agree = [True] * network.depth
    with Progress(rounds * (network.depth + 1), "random identity test", enabled=progress) as bar:
        for _ in range(rounds):
            p = draw_prime(rng)
            point = draw_point(network, output, forms, rng, p)
            generator = np.random.default_rng(rng.randrange(2 ** 63))
            direction = [_residues(generator, shape, p) for shape in network.shapes]
            claimed = claimed_side(network, point, forms, direction, transposed)
            bar.advance()
            for layer in range(network.depth):
                agree[layer] &= direct_side(network, point, forms, direction, layer) == claimed[layer]
                bar.advance()
    return _proof(network, recurrence, rounds, agree, bound, time.perf_counter() - start)


def _proof(network: Network, recurrence, rounds: int, agree: list, bound: int, seconds: float) -> ConvProof:
    probability = error_probability(network, bound, rounds)
    wrong = ": NOT zero, so some weight of this layer is wrong (gradproof check names them, with numbers)"
    lemmas = [Lemma(f"layer {l}", f"layer {l}: Σ_w r_w·(∂E/∂w − the recurrence's entry) = 0 at {rounds} random "
                    f"point(s){'' if ok else wrong}", PROVEN if ok else UNDECIDED, "randomized identity test")
              for l, ok in enumerate(agree)]
    statement = (f"for this architecture, at {rounds} random point(s) of GF(p), p a prime drawn per round from "
                 f"[2⁶¹, 2⁶²): for each layer, a random combination of every weight's ∂E/∂w (the definition, "
                 f"differentiated forward through the convolutions) minus the recurrence's entry vanished, so "
                 f"every entry equals ∂E/∂w as a rational function of the weights, inputs, targets and activation "
                 f"values except with probability ≤ {probability:.1e} (Schwartz–Zippel, degree ≤ {bound}, "
                 f"{network.n_weights} weights)")
    assumptions = ("every a(z), a'(z), σ(z), e^z … an independent unknown (as in the exact method)",)
    status = tuple(PROVEN if ok else UNDECIDED for ok in agree)
    return ConvProof(network, recurrence.description, METHOD, statement, (), tuple(lemmas + lemmas_for(network)),
                     assumptions, seconds, (), layer_status=status)
