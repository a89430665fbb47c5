"""The randomized exact identity test (Schwartz–Zippel), over a prime drawn per run.

What is tested is what the user's recurrence returns for the real network: it runs once, under the
guard, on a fresh :class:`SymbolicNetwork` (:mod:`.sealed`), and its entries are evaluated exactly modulo
a prime p drawn at random from [2⁶¹, 2⁶²) for every round (from the operating system's randomness, so no
recurrence can be written against it), at a point where every weight, input, target and every function
application a(z), a'(z), σ(z), e^z, … (the unknowns of the polynomial test) is uniform in GF(p). The direct
side comes from the proof's own network, computed before the user's code runs: ∂E/∂z at the output and
each activation's slope by ``sympy.diff``, then Jacobians multiplied upward from the weight (forward mode,
the opposite order to the recurrence's).

What it proves: per weight, write direct − claimed as N/D from the expressions' graphs; the degrees and
coefficient sizes of N and D are bounded on the expressions actually tested (:mod:`.degrees`). If the
difference is not zero, N is a nonzero polynomial; it vanishes modulo p at the point with probability at
most deg N/p (given D ≠ 0 there), and all its coefficients are divisible by a random p from that range
with probability at most (log₂ of their size/61)/(number of primes there, > 3.8·10¹⁶). Rounds are
independent, the union over the weights is taken, and the result states the bound. A weight whose sides
differ is **refuted** only with a real network where they differ (:mod:`.counterexample`): in GF(p) the
applications are independent unknowns, so a correct entry written with σ(−z) or e^(−z) may differ there.
"""

from __future__ import annotations

import random
import time

import numpy as np
import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof.assumptions import target_assumptions
from gradproof.derive.proof.counterexample import find_counterexamples
from gradproof.derive.proof.decide import Judge, not_shown_real
from gradproof.derive.proof.degrees import Degree, Degrees, difference
from gradproof.derive.proof.denominators import UNKNOWN, ZERO
from gradproof.derive.proof.lemmas import lemmas_for
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Proof, WeightProof
from gradproof.derive.proof.sealed import claims_for, user_gradients
from gradproof.derive.runtime.progress import Progress
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import recurrence_name
from gradproof.derive.symbolic.walk import nodes_of, polynomial_children, post_order

METHOD = "random"
LOW, HIGH = 2 ** 61, 2 ** 62
#: primes in [2⁶¹, 2⁶²) are more than this many (π(x) > x/ln x and π(x) < 1.25506·x/ln x)
PRIMES_IN_RANGE = 3.8e16
MAX_ROUNDS = 1000
#: a weight whose bound per round is above this is not decided by the test
USEFUL = 0.5
#: networks up to this many weights have the weights whose sides differ modulo p decided by the exact method
EXACT_FALLBACK = 100


def is_prime(n: int) -> bool:
    """Miller–Rabin with the first 12 primes as bases: deterministic below 3.3·10²⁴."""
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    if n < 2 or any(n % q == 0 for q in small):
        return n in small
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for base in small:
        x = pow(base, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(rng: random.Random) -> int:
    while True:
        candidate = rng.randrange(LOW, HIGH) | 1
        if is_prime(candidate):
            return candidate


class Vanished(ArithmeticError):
    """A denominator is 0 modulo p at the point: the round is drawn again."""


class ModularPoint:
    """A random point of GF(p): numbers for the weights, inputs, targets and every unknown met."""

    def __init__(self, sym: SymbolicNetwork, prime: int, rng: random.Random):
        self.p, self.rng = prime, rng
        self.values: dict = {w: self.draw() for w in sym.weight_symbols}
        self.values.update({x: self.draw() for x in sym.x})
        targets = [self.draw() for _ in sym.y]
        if sym.network.loss.targets == "probabilities":  # Σ y = 1, in GF(p)
            targets[-1] = (1 - sum(targets[:-1])) % prime
        self.values.update(zip(sym.y, targets))
        self.cache: dict = {}

    def draw(self) -> int:
        return self.rng.randrange(1, self.p)

    def value(self, expr) -> int:
        return post_order(expr, self.cache, self._node, polynomial_children)

    def _node(self, node) -> int:
        p = self.p
        if node.is_Rational:
            return int(node.p) % p * self._inverse(int(node.q)) % p
        if node.is_Add:
            return sum(self.cache[arg] for arg in node.args) % p
        if node.is_Mul:
            product = 1
            for arg in node.args:
                product = product * self.cache[arg] % p
            return product
        if node.is_Pow and node.exp.is_Integer:
            base, n = self.cache[node.base], int(node.exp)
            return pow(base, n, p) if n >= 0 else pow(self._inverse(base), -n, p)
        if node not in self.values:  # a function application, another power, π, …: a new unknown
            self.values[node] = self.draw()
        return self.values[node]

    def _inverse(self, value: int) -> int:
        if value % self.p == 0:
            raise Vanished
        return pow(value, self.p - 2, self.p)




class DirectSide:
    """The definition's pieces, from the proof's own network: ∂E/∂z at the output, each hidden layer's
    slopes a'(z), each layer's input X̄, as expressions in the real weighted sums."""

    def __init__(self, sym: SymbolicNetwork, given: dict):
        net = sym.network
        top = net.depth - 1
        zeta = sp.symbols(f"ζ1:{net.sizes[-1] + 1}", real=True)
        local_error = sym.loss.error(sym.activations[-1].forward(zeta), sym.y)
        back = dict(zip(zeta, sym.z[top]))
        self.output = tuple(sp.diff(local_error, s).xreplace(back).xreplace(given) for s in zeta)
        t = sp.Symbol("t", real=True)
        slopes = []
        for layer in range(top):
            slope = sp.diff(sym.activations[layer].forward([t])[0], t)
            slopes.append(tuple(slope.xreplace({t: z}) for z in sym.z[layer]))
        self.slopes = tuple(slopes)
        self.xbar = tuple(tuple(sym.xbar[layer]) for layer in range(net.depth))
        self.sym = sym

    def degrees(self, degrees: Degrees) -> list[Degree]:
        """A bound for every layer's ∂E/∂W̄ entries (the same for a whole layer)."""
        net = self.sym.network
        found = []
        for m in range(net.depth):
            pieces = [_widest([degrees.of(e) for e in self.output]), _widest([degrees.of(e) for e in self.xbar[m]])]
            paths = net.sizes[-1]
            for layer in range(m + 1, net.depth):
                pieces.append(Degree(1, 0, 0.0, 0.0) * _widest([degrees.of(e) for e in self.slopes[layer - 1]]))
                paths *= net.sizes[layer]
            bound = pieces[0]
            for piece in pieces[1:]:
                bound = bound * piece
            height = bound.height + bound.den_height + float(np.log2(paths))
            found.append(Degree(bound.num + bound.den, bound.den, height, bound.den_height))
        return found

    def gradients(self, point: ModularPoint) -> list[np.ndarray]:
        """∂E/∂W̄[m] for every layer at ``point``, by forward mode: J = ∂z[L−1]/∂z[m] built upward."""
        net, p = self.sym.network, point.p
        bias = int(net.bias)
        output = np.array([point.value(e) for e in self.output], dtype=object)
        wbar = [np.array([[point.value(e) for e in m.row(r)] for r in range(m.rows)], dtype=object)
                for m in self.sym.wbar]
        slopes = [np.array([point.value(e) for e in layer], dtype=object) for layer in self.slopes]
        grads = []
        for m in range(net.depth):
            jac = np.identity(net.sizes[m + 1], dtype=object)
            for layer in range(m + 1, net.depth):
                jac = np.dot(wbar[layer][:, bias:] * slopes[layer - 1][None, :], jac) % p
            row = np.dot(output[None, :], jac)[0] % p
            grads.append(np.outer(row, np.array([point.value(e) for e in self.xbar[m]], dtype=object)) % p)
        return grads


def _widest(degrees: list[Degree]) -> Degree:
    return Degree(max(d.num for d in degrees), sum(d.den for d in degrees),
                  max(d.height for d in degrees), sum(d.den_height for d in degrees))


def per_round_bound(bound: Degree) -> float:
    """The chance that one round misses a nonzero difference with these bounds."""
    field = float(LOW)
    if bound.den >= field / 2:
        return 1.0
    return min(1.0, (bound.num / field) / (1 - bound.den / field) + (bound.height / 61) / PRIMES_IN_RANGE)


def check_rounds(rounds) -> int:
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or not 1 <= rounds <= MAX_ROUNDS:
        raise InputError(f"rounds must be a whole number from 1 to {MAX_ROUNDS}, not {rounds!r}")
    return int(rounds)


def prove_random(network: Network, recurrence, rounds: int = 2, seed: int | None = None,
                 progress: bool = False) -> Proof:
    """The randomized identity test of ``recurrence`` on ``network`` (see the module doc); ``seed`` makes
    the primes and points reproducible (by default they come from the operating system)."""
    rounds = check_rounds(rounds)
    start = time.perf_counter()
    rng = random.SystemRandom() if seed is None else random.Random(seed)
    ours = SymbolicNetwork(network)
    lemmas = tuple(lemmas_for(network, ours))
    given, assumptions = target_assumptions(ours)
    direct = DirectSide(ours, given)
    own = (ours, ours.error, lemmas, direct.output, direct.slopes, direct.xbar)
    claimed = [m.xreplace(given) for m in user_gradients(network, recurrence, claims_for(ours), own)]
    judge = Judge(ours)
    entries = [e for m in claimed for e in m]
    checked = [judge.denominators.of(e) for e in entries]  # an entry that is 0/0 everywhere is not evaluated
    testable = _shaped(network, [0 if c.status in (ZERO, UNKNOWN) else e for e, c in zip(entries, checked)])
    bounds = _bounds(direct, claimed)
    agree = [np.ones(shape, dtype=bool) for shape in network.shapes]
    with Progress(rounds, "random identity test", enabled=progress) as bar:
        for _ in range(rounds):
            for layer, (d, c) in enumerate(_round(ours, direct, testable, rng)):
                agree[layer] &= d == c
            bar.advance()
    flat_agree = [bool(a) for matrix in agree for a in matrix.flat]
    results, worst = _verdicts(ours, judge, entries, checked, flat_agree, bounds, given)
    probability = min(1.0, network.n_weights * worst ** rounds)
    statement = (f"for this network, at {rounds} random point(s), each modulo a prime drawn at random from "
                 f"[2⁶¹, 2⁶²): every agreeing ∂E/∂w equals the recurrence's entry as a rational function of the "
                 f"weights, inputs, targets and activation values, except with probability ≤ {probability:.1e} "
                 f"(Schwartz–Zippel and the chance of a prime dividing every coefficient, bounded on the "
                 f"expressions tested: degree ≤ {max(b.num for b in bounds)}, {network.n_weights} weights)"
                 + ("" if seed is None else f"; with seed {seed} the primes and points are reproducible, so known "
                    "in advance: a recurrence written against them could pass"))
    return Proof(network, recurrence_name(recurrence), METHOD, statement, tuple(results), lemmas,
                 assumptions + ("every a(z), a'(z), σ(z), e^z … an independent unknown (as in the exact method)",),
                 time.perf_counter() - start)


def _shaped(network: Network, entries: list) -> list[sp.ImmutableMatrix]:
    found, start = [], 0
    for rows, cols in network.shapes:
        found.append(sp.ImmutableMatrix(rows, cols, entries[start:start + rows * cols]))
        start += rows * cols
    return found


def _bounds(direct: DirectSide, claimed) -> list[Degree]:
    degrees = Degrees()
    layers = direct.degrees(degrees)
    return [difference(layers[layer], degrees.of(entry))
            for layer, matrix in enumerate(claimed) for entry in matrix]


def _round(ours: SymbolicNetwork, direct: DirectSide, claimed, rng) -> list:
    """Both sides at one random point of GF(p) for a fresh prime p (drawn again where a denominator vanishes)."""
    for _ in range(8):
        point = ModularPoint(ours, random_prime(rng), rng)
        try:
            ours_side = direct.gradients(point)
            theirs = [np.array([[point.value(e) for e in m.row(r)] for r in range(m.rows)], dtype=object)
                      for m in claimed]
            return list(zip(ours_side, theirs))
        except Vanished:
            continue
    raise InputError("a denominator of the recurrence vanished at 8 random points modulo 8 random primes: "
                     "prove it with --method exact")


def _verdicts(ours: SymbolicNetwork, judge: Judge, entries, checked, agree, bounds, given) -> tuple[list, float]:
    net = ours.network
    symbols, indices = ours.weight_symbols, list(net.weights())
    unreal = _unreal(ours, entries)
    differing = {symbols[k]: entries[k] for k in range(len(entries))   # (one not shown real: a network may refute it)
                 if (not agree[k] or unreal[k]) and checked[k].status not in (ZERO, UNKNOWN)}
    found = find_counterexamples(ours, differing, judge.evaluator) if differing else {}
    exact = {}
    if net.n_weights <= EXACT_FALLBACK:
        exact = judge.exactly({indices[k]: entries[k] for k in range(len(entries))
                               if symbols[k] in differing and symbols[k] not in found}, given)
    results, worst = [], 0.0
    for k, index in enumerate(indices):
        weight, chance = symbols[k], per_round_bound(bounds[k])
        if checked[k].status == ZERO:
            results.append(judge.divides_by_zero(index, weight, checked[k].zero, entries[k]))
        elif checked[k].status == UNKNOWN:
            results.append(WeightProof(index, UNDECIDED, claimed=entries[k], reason=UNKNOWN_DENOMINATOR))
        elif weight in found:
            results.append(WeightProof(index, REFUTED, claimed=entries[k], counterexample=found[weight]))
        elif index in exact:
            results.append(exact[index])
        elif weight in differing:
            results.append(WeightProof(index, UNDECIDED, claimed=entries[k], reason=DIFFER))
        elif chance > USEFUL:
            results.append(WeightProof(index, UNDECIDED, claimed=entries[k], reason=TOO_HIGH.format(bounds[k].num)))
        elif unreal[k]:
            results.append(WeightProof(index, UNDECIDED, claimed=entries[k], reason=unreal[k]))
        else:
            results.append(WeightProof(index, PROVEN, claimed=entries[k], conditions=checked[k].conditions))
        worst = max(worst, min(chance, USEFUL))
    return results, worst


def _unreal(ours: SymbolicNetwork, entries: list) -> list[str | None]:
    """Per entry, why it is not proven though the sides agree: a root or function application (not one of E's
    own) not shown real at every network, which may cancel modulo p and yet have no real value on a region."""
    own = nodes_of(ours.error)
    reasons = [not_shown_real(entry, own) for entry in entries]
    return [reason and f"{reason}; prove it with --method exact" for reason in reasons]


UNKNOWN_DENOMINATOR = "a denominator of the entry could not be shown to be nonzero"
DIFFER = ("the two sides differ modulo p, where every function application is an independent unknown, but "
          "no real network was found where they differ: the entry may use a relation between applications "
          "(σ(−z) = 1 − σ(z), e^(−z) = 1/e^z) that the test does not know; prove it with --method exact")
TOO_HIGH = ("the entry's degree (up to {}) is too high for the random test to bound its error: prove it with "
            "--method exact")
