"""Counterexamples: a real network where a claimed gradient differs from the true one.

A refutation needs one. A point is a network: weights and inputs drawn in [−1, 1] (for an entry with a
function that changes by region — a Piecewise, Min, Max, Heaviside, sign, Abs — also in wider boxes, up to
[−256, 256]: it may be wrong only far from the unit box), targets as the loss requires (probabilities for cross-entropy); for the generic activation also a concrete activation,
a(t) = e^(t/2) + sin(t)/3. The claimed entry is evaluated there with 40 significant digits, every
opaque function by its closed form. The true gradient is computed independently of the rules under
test: reverse accumulation over E's expression graph, each function differentiated through its closed
form (σ through 1/(1 + e^(−t)), never through σ's own ``fdiff``), in mpmath. A difference counts only
when it stands far above the precision and is confirmed at twice the digits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from gradproof.derive.proof.evaluation import (DIGITS, PRECISIONS, WITNESS_ACTIVATION_TEXT, Evaluator, Undefined,
                                               agree)
from gradproof.derive.proof.intervals import enclose, outside
from gradproof.derive.symbolic.functions import a, relu
from gradproof.derive.symbolic.network import SymbolicNetwork

__all__ = ["Counterexample", "DIGITS", "WITNESS_ACTIVATION_TEXT", "evaluate", "find_counterexamples",
           "random_point", "true_gradient", "without_numbers"]


@dataclass(frozen=True)
class Counterexample:
    """A network (values of the weights, inputs and targets) where the true ∂E/∂w ≠ the claimed one."""

    point: dict
    direct: sp.Float | None             #: None: E applies a function gradproof cannot evaluate (no value)
    claimed: sp.Float | None            #: None: the claimed entry is undefined there (a division by zero)
    activation: str | None = None       #: the concrete activation chosen for the generic one
    note: str = ""

    def describe(self) -> str:
        where = f" with {self.activation}" if self.activation else ""
        claimed = "undefined" if self.claimed is None else f"{sp.N(self.claimed, 8)}"
        note = f" ({self.note})" if self.note else ""
        true = "whatever its value" if self.direct is None else sp.N(self.direct, 8)
        return f"true ∂E/∂w {true} ≠ claimed {claimed}{note} at the network {self.where()}{where}"

    def where(self, limit: int = 12) -> str:
        items = [f"{name} = {value}" for name, value in self.values().items()]
        shown = ", ".join(items[:limit])
        return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")

    def values(self) -> dict[str, str]:
        return {str(symbol): _decimal(value) for symbol, value in self.point.items()}

    def to_dict(self) -> dict:
        return {"point": self.values(), "true": None if self.direct is None else str(self.direct),
                "claimed": None if self.claimed is None else str(self.claimed),
                "activation": self.activation, "note": self.note}


def _finite(value):
    """``value`` where it is a finite number; a NaN or an infinity (log(0)) is no value: Undefined."""
    if not mpmath.isfinite(value):
        raise Undefined(f"the value is {value}")
    return value


def _decimal(value) -> str:
    """An exact rational as the decimal it is (the points are multiples of 10⁻⁶), else p/q."""
    value = sp.Rational(value)
    scaled = value * 10 ** 6
    if scaled.is_Integer:
        return str(sp.Float(value, 12)).rstrip("0").rstrip(".") if value != 0 else "0"
    return str(value)


def random_point(sym: SymbolicNetwork, rng: random.Random, box: tuple[int, int] = (1, 1)) -> dict:
    """A random network: weights uniform in [−box[0], box[0]], inputs in [−box[1], box[1]], targets as
    the loss requires."""
    def uniform(low, high):
        return sp.Rational(rng.randint(0, 10**6), 10**6) * (high - low) + low

    point = {w: uniform(-box[0], box[0]) for w in sym.weight_symbols}
    point.update({x: uniform(-box[1], box[1]) for x in sym.x})
    targets = [uniform(0, 1) for _ in sym.y]
    if sym.network.loss.targets == "probabilities":
        total = sum(targets) or 1
        targets = [t / total for t in targets] if sum(targets) else [sp.Rational(1, len(targets))] * len(targets)
    elif sym.network.loss.targets == "any":
        targets = [2 * t - 1 for t in targets]
    point.update(zip(sym.y, targets))
    return point


def evaluate(expr: sp.Expr, point: dict, evaluator: Evaluator | None = None) -> sp.Float:
    """``expr`` at ``point`` with 40 significant digits (mpmath), each shared subexpression once."""
    evaluator = evaluator or Evaluator()
    with mpmath.workdps(DIGITS + 10):
        return sp.Float(_finite(evaluator.value(expr, evaluator.environment(point))), DIGITS)


def values_at(entries: dict, point: dict, evaluator: Evaluator) -> dict:
    """Each entry at ``point`` with 40 significant digits (None where it has no value there), every
    subexpression the entries share evaluated once."""
    found = {}
    with mpmath.workdps(DIGITS + 10):
        env = evaluator.environment(point)
        for key, entry in entries.items():
            try:
                found[key] = sp.Float(_finite(evaluator.value(entry, env)), DIGITS)
            except Undefined:
                found[key] = None
    return found


def true_gradient(sym: SymbolicNetwork, point: dict, evaluator: Evaluator, digits: int = DIGITS) -> dict:
    """∂E/∂w at ``point`` for every weight, by reverse accumulation over E's graph (closed forms)."""
    with mpmath.workdps(digits + 10):
        env = evaluator.environment(point)
        order = _post_order(sym.error)
        values = {}
        for node in order:
            values[node] = evaluator.value(node, env)
        adjoint = {sym.error: mpmath.mpf(1)}
        for node in reversed(order):
            weight = adjoint.get(node)
            if weight is None or node.is_Atom:
                continue
            for arg, partial in evaluator.partials(node, values):
                adjoint[arg] = adjoint.get(arg, 0) + weight * partial
        return {w: adjoint.get(w, mpmath.mpf(0)) for w in sym.weight_symbols}


def _post_order(root) -> list:
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((arg, False) for arg in Evaluator.children(node))
    return order


def without_numbers(sym: SymbolicNetwork, evaluator: Evaluator) -> str | None:
    """Why no network's true gradient can be computed (E applies a function with no closed form that
    gradproof can evaluate, such as an activation given only as an opaque sympy function), else None."""
    applied = {node.func for node in sym.error.atoms(sp.Function)
               if len(node.args) == 1 and node.func not in (sp.Heaviside, sp.Max, sp.Min, sp.Piecewise)}
    for func in sorted(applied, key=str):  # (what the evaluator computes through a closed form or sympy)
        try:
            evaluator.function(func)
        except Undefined:
            return (f"E applies {func}, which has no closed form gradproof can evaluate (define the activation "
                    "from an expression), so no network can show a difference")
    return None


def find_counterexamples(sym: SymbolicNetwork, claimed: dict, evaluator: Evaluator | None = None,
                         seed: int = 0, tries: int = 6) -> dict:
    """For each weight in ``claimed`` (weight symbol → claimed entry), a confirmed counterexample if one
    turns up at ``tries`` random networks; the weights with none are left out. A network where a weighted
    sum of an activation with a kink is exactly 0 is skipped (the derivative is a convention there), and
    so is one where E has no value; where E cannot be evaluated at all, there is none."""
    evaluator = evaluator or Evaluator.for_network(sym)
    if without_numbers(sym, evaluator):
        return {}
    rng = random.Random(seed)
    activation = WITNESS_ACTIVATION_TEXT if sym.error.has(a) else None
    found, open_ = {}, dict(claimed)
    for box in _scales(claimed, tries):
        if not open_:
            break
        point = random_point(sym, rng, box)
        try:
            if _on_a_kink(sym, point, evaluator):
                continue
            truth = true_gradient(sym, point, evaluator)
        except Undefined:  # E itself has no value at this network (log of 0, a complex value)
            continue
        claims = values_at(open_, point, evaluator)
        candidates = {weight: entry for weight, entry in open_.items()
                      if claims[weight] is None or differs(sp.Float(truth[weight], DIGITS), claims[weight])}
        found.update(_confirmed(sym, point, candidates, evaluator, activation))
        open_ = {w: e for w, e in open_.items() if w not in found}
    return found


#: functions whose value changes by region: an entry with one may be wrong only far from the unit box
#: (Piecewise((…, w < 5)) is undefined from w = 5 on; Min(w, 2 + x²) − Min(w, 3 + x²) is 0 for w ≤ 2)
REGIONAL = (sp.Piecewise, sp.Min, sp.Max, sp.Heaviside, sp.sign, sp.Abs, sp.floor, sp.ceiling, relu)
#: the boxes drawn from after the unit box's tries, for such entries: half-widths for the weights and for
#: the inputs (wide weights beside unit inputs too: Min(w, 2, x² + 1) − Min(w, 2) is wrong only for |x| < 1
#: and w > x² + 1), two tries each
WIDER = ((4, 1), (4, 4), (16, 1), (16, 16), (64, 1), (64, 64), (256, 1), (256, 256))


#: functions real only inside a domain: asin(w) has no real value for |w| > 1, outside the unit box
DOMAIN_BOUND = (sp.log, sp.asin, sp.acos, sp.acosh, sp.atanh, sp.acoth, sp.asec, sp.acsc)


def _wide(entry: sp.Basic) -> bool:
    """Whether ``entry`` may be wrong or undefined only away from the unit box."""
    return entry.has(*REGIONAL, *DOMAIN_BOUND) or any(not p.exp.is_Integer for p in entry.atoms(sp.Pow))


def _scales(claimed: dict, tries: int) -> list[tuple[int, int]]:
    """The half-widths (weights, inputs) of each try's box: ``tries`` in the unit box; then, where an entry
    has a function that changes by region (``REGIONAL``), two in each box of ``WIDER``."""
    regional = any(_wide(entry) for entry in claimed.values() if isinstance(entry, sp.Basic))
    return [(1, 1)] * tries + ([box for box in WIDER for _ in range(2)] if regional else [])


def _on_a_kink(sym: SymbolicNetwork, point: dict, evaluator: Evaluator) -> bool:
    """Whether a weighted sum sits on a kink: a located one exactly, or one not located where an expression
    whose zeros are kinks is 0 (or has no value) in double precision, which skips more, never less."""
    for layer, act in enumerate(sym.network.activations):
        if getattr(act, "kinks", ()) or getattr(act, "unlocated_kinks", ()):
            with mpmath.workdps(DIGITS + 10):
                env = evaluator.environment(point)
                values = [evaluator.value(z, env) for z in sym.z[layer]]
            if any(value in getattr(act, "kinks", ()) for value in values):
                return True
            if getattr(act, "unlocated_kinks", ()) and act.between_unlocated_kinks(
                    *[np.array([float(v) for v in values])] * 2).any():
                return True
    return False


def _confirmed(sym, point, candidates: dict, evaluator, activation) -> dict:
    """The candidates whose true gradient and claimed entry are both stable under rising precision (two
    successive precisions agree to 40 digits) and then differ; an entry undefined at every precision is
    refuted as undefined there."""
    confirmed, previous, undefined = {}, {}, {}
    pending = dict(candidates)
    for digits in PRECISIONS[1:]:
        truth = true_gradient(sym, point, evaluator, digits)
        with mpmath.workdps(digits + 10):
            env = evaluator.environment(point)
            current = {}
            for weight, entry in pending.items():
                try:
                    current[weight] = (truth[weight], _finite(evaluator.value(entry, env)))
                except Undefined as error:
                    undefined.setdefault(weight, str(error))
                    current[weight] = (truth[weight], None)
        for weight in list(pending):
            done = _settled(previous.get(weight), current[weight])
            if done is None:
                continue
            del pending[weight]
            true, claimed = done
            if claimed is None:
                if exactly_undefined(candidates[weight], point, evaluator.closed):
                    confirmed[weight] = Counterexample(point, sp.Float(true, DIGITS), None, activation,
                                                       undefined[weight])
            elif differs(sp.Float(true, DIGITS), sp.Float(claimed, DIGITS)) and \
                    certified(candidates[weight], point, evaluator, true):
                confirmed[weight] = Counterexample(point, sp.Float(true, DIGITS), sp.Float(claimed, DIGITS), activation)
        previous = current
        if not pending:
            break
    return confirmed


def certified(entry: sp.Expr, point: dict, evaluator: Evaluator, true) -> bool:
    """Whether the true gradient lies outside an interval that encloses the claimed entry at ``point``
    (outward rounding: agreement between precisions is evidence, the enclosure a certificate)."""
    enclosure = enclose(entry, point, evaluator.closed, 2 * DIGITS)
    if enclosure is None:
        return False
    with mpmath.workdps(3 * DIGITS):  # the comparison itself exact enough not to matter
        tolerance = mpmath.mpf(10) ** (10 - DIGITS) * max(1, abs(true))  # the true gradient's own accuracy
        return outside(true, enclosure, tolerance)


def exactly_undefined(entry: sp.Expr, point: dict, closed: dict | None = None) -> bool:
    """Whether ``entry`` has no real value at ``point`` in exact arithmetic: a division by an exact 0, or a
    value whose imaginary part stands far above 40 digits. Rounding can make a tiny value 0, or a tiny
    negative number's root complex, at every precision (e^(10⁻⁵⁰⁰⁰·w) − 1), so a numeric "undefined" alone
    refutes nothing. ``closed``: opaque functions (relu, σ, an activation of yours) → their closed forms,
    put in first, so that sympy evaluates them at the exact point."""
    if closed:
        entry = entry.replace(lambda node: node.func in closed, lambda node: closed[node.func](*node.args))
    exact = {symbol: sp.Rational(v) for symbol, v in point.items()}
    try:
        value = entry.xreplace(exact)
    except (ValueError, TypeError):  # sympy refuses the point (Heaviside of a complex value): nothing refuted
        return False
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or (value.has(sp.I) and _complex(value)):
        return True
    return any(_complex(part.xreplace(exact)) for part in _applications(entry))   # log(−1/2) that cancels


def _complex(value) -> bool:
    """Whether an exact value's imaginary part stands far above 40 digits."""
    if value.is_extended_real or value.has(sp.nan, sp.zoo):   # (asin(23/10) shows no I until evaluated)
        return False
    real, imaginary = sp.N(value, DIGITS).as_real_imag()
    return bool(abs(imaginary) > sp.Float(10, DIGITS) ** (10 - DIGITS) * max(sp.Integer(1), abs(real)))


def _applications(entry) -> list:
    """The roots and the applications of functions real only inside a domain (``DOMAIN_BOUND``: log, asin,
    …) in ``entry``: the only parts that can turn complex at real values (exp, σ, tanh, … cannot)."""
    return [node for node in sp.preorder_traversal(entry) if isinstance(node, sp.Expr) and not node.is_Atom
            and (node.func in DOMAIN_BOUND or (node.is_Pow and not node.exp.is_Integer))]


def _settled(before, now):
    """(true, claimed) once two successive precisions agree on both (claimed None: undefined at both)."""
    if before is None:
        return None
    (true_before, claimed_before), (true_now, claimed_now) = before, now
    if not agree(true_before, true_now):
        return None
    if claimed_before is None or claimed_now is None:
        return (true_now, None) if claimed_before is None and claimed_now is None else None
    return (true_now, claimed_now) if agree(claimed_before, claimed_now) else None


def differs(left, right) -> bool:
    """|left − right| far above the 40-digit evaluation's error."""
    scale = max(abs(left), abs(right), sp.Integer(1))
    return abs(left - right) > scale * sp.Float(10) ** (10 - DIGITS)
