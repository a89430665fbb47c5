"""The Ψ recurrence proven for every architecture at once: its own code at symbolic widths, and induction.

The recurrence's steps (``PsiRecurrence.output_psi``, ``propagate``, ``weight_gradient``: the code
``derive``, ``prove``, the numeric matrix form and the LaTeX document use), with the activations' and
losses' own symbolic forms, run here on a :class:`GenericNetwork`: its vectors and matrices have symbolic
widths n0, n1, n2 (:mod:`.generic`), its entries are ``IndexedBase`` objects (weights ``v[i, j]`` and
``w[i, j]``, inputs ``x[j]``, weighted sums ``z[j]`` and ``u[k]``, targets ``y[k]``, Ψ entries ``g[i]``). What
the code returns is an entry at a symbolic index; it is compared with the definition: ``sympy.diff`` of
sums over symbolic ranges, whose ``KroneckerDelta`` sums and Piecewise guards ``refine(…).doit()`` with the
index bounds removes (iterated to a fixed point); factors free of a summation index are pulled out of its
sum, bound variables renamed canonically, and the difference expanded to 0. Each result is also checked on
concrete widths with numbers (a second witness: sympy's sums are not trusted alone). Lemmas, for each
activation and loss, with and without biases:

- **activation**: the rule ``sympy.diff`` applies to the activation is d/dz of its closed form;
- **base**: the code's Ψ at the output is ∂E/∂uₚ for every output width n2 and 1 ≤ p ≤ n2;
- **step**: the code's Ψ[l−1]_q is Σᵢ gᵢ·∂z'ᵢ/∂z_q for z' = W̄·[1; a(z)], every n1, n2, 1 ≤ q ≤ n1;
- **weight**: the code's ∂E/∂W̄ entry (p, q) is ∂/∂v_pq Σᵢ gᵢ·zᵢ for z = W̄·[1; x] (q = 0: the bias);
- **loop**: the code's ``psis``/``gradients`` compose those steps as the induction does (run with stand-in
  steps at depths 1 … 8: Python, not an expression, so the other depths are assumed).

Induction on the distance from the output then gives ∂E/∂W̄[l] = the recurrence's entry for every depth
and width: the base, and the step carries "Ψ[l] = ∂E/∂z[l]" down a layer because E depends on z[l−1]
only through z[l]. A lemma that does not reduce is refuted only with a concrete instance (widths, indices
and numbers) where the code and the definition differ; otherwise it is undecided.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.model.activations import get_activation
from gradproof.derive.model.losses import LOSSES
from gradproof.derive.model.network import Network
from gradproof.derive.proof.counterexample import differs
from gradproof.derive.proof.evaluation import DIGITS, Evaluator, Undefined, stable_value
from gradproof.derive.proof.generic import GenericMatrix, GenericVector
from gradproof.derive.proof.lemmas import activation_lemma
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Lemma
from gradproof.derive.proof.sealed import fresh_rules
from gradproof.derive.symbolic.forms import activation_form, loss_form
from gradproof.derive.errors import InputError
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence, composes_its_steps

n0, n1, n2 = sp.symbols("n0 n1 n2", integer=True, positive=True)
i, j, k, p, q = sp.symbols("i j k p q", integer=True)
V, W, X, Z, U, G, Y = (sp.IndexedBase(name) for name in ("v", "w", "x", "z", "u", "g", "y"))
ASSUMED = ("the multivariable chain rule; induction on the number of layers; the network's layered "
           "structure (E depends on W̄[l] and z[l−1] only through z[l]); the recurrence's loop composing its "
           "steps at every depth as it does at the depths checked")
METHOD = "the code at symbolic widths: settle, normalize, expand; checked at concrete widths"


def settle(expr, bounds: dict):
    """``refine(expr.doit(), …)`` with the index bounds until nothing changes: KroneckerDelta sums and
    their Piecewise guards go. ``bounds`` maps an index to (lowest, highest); a delta between a number and
    an index whose range excludes it is 0."""
    assumptions = sp.And(*(sp.Q.ge(index, low) & sp.Q.le(index, high) for index, (low, high) in bounds.items()))
    for _ in range(12):
        new = sp.refine(expr.doit(), assumptions).replace(sp.KroneckerDelta, lambda a, b: _delta(a, b, bounds))
        if new == expr:
            return expr
        expr = new
    return expr


def _delta(a, b, bounds: dict):
    for number, index in ((a, b), (b, a)):
        if number.is_Integer and index in bounds:
            low, high = bounds[index]
            if (number < low) == True or (high - number).is_negative:  # noqa: E712 - sympy truth
                return sp.Integer(0)
    return sp.KroneckerDelta(a, b)


def normalize(expr):
    """Pull index-free factors out of every sum, rename bound variables canonically, expand."""
    def visit(node):
        if not node.args:
            return node
        node = node.func(*[visit(arg) for arg in node.args]) if not isinstance(node, sp.Sum) else node
        if not isinstance(node, sp.Sum) or len(node.limits) != 1:
            return node
        var, low, high = node.limits[0]
        body = sp.expand(visit(node.function))
        depth = 1 + max((int(s.name[1:]) for s in body.free_symbols if s.name.startswith("ι")), default=0)
        bound = sp.Symbol(f"ι{depth}", integer=True)
        total = sp.Integer(0)
        for term in sp.Add.make_args(body):
            free, tied = term.as_independent(var, as_Add=False)
            total += (free * (high - low + 1) if tied == 1
                      else free * sp.Sum(tied.xreplace({var: bound}), (bound, low, high)))
        return total
    return sp.expand(visit(expr))


def is_zero(expr, substitutions: dict | None = None) -> bool:
    """Sound: only equivalence transformations (and the stated substitutions), then a structural
    comparison with 0."""
    given = {normalize(key): value for key, value in (substitutions or {}).items()}
    return normalize(normalize(expr).xreplace(given)) == 0


class GenericNetwork:
    """The interface of :class:`~gradproof.derive.symbolic.network.SymbolicNetwork` at symbolic widths:
    two weight layers, inputs x (n0), the hidden layer's weighted sums z (n1, free, as in the layerwise
    proof) and the output's u (n2, free), weights v (layer 0) and w (layer 1), targets y."""

    def __init__(self, network: Network):
        self.network = network
        self.activations = tuple(activation_form(act) for act in network.activations)
        self.loss = loss_form(network.loss)
        self.x = GenericVector(n0, lambda c: X[c])
        self.wbar = (self._weights(V, n1, n0), self._weights(W, n2, n1))
        self.z = (GenericVector(n1, lambda c: Z[c]), GenericVector(n2, lambda c: U[c]))
        self.xbar = (self._with_bias(self.x), self._with_bias(self.activations[0].forward(self.z[0])))
        self.y = GenericVector(n2, lambda c: Y[c])
        self.output = self.activations[1].forward(self.z[1])

    def _weights(self, base, rows, cols) -> GenericMatrix:
        head = (lambda r: base[r, 0]) if self.network.bias else None
        return GenericMatrix(rows, cols, lambda r, c: base[r, c], head)

    def _with_bias(self, vector: GenericVector) -> GenericVector:
        return GenericVector(vector.size, vector.entry, sp.Integer(1) if self.network.bias else None)

    @property
    def error(self):
        return self.loss.error(self.output, self.y)


def generic_network(hidden: str, output: str, loss: str, bias: bool = True) -> GenericNetwork:
    return GenericNetwork(Network.from_spec([2, 2, 2], [hidden, output], loss, bias=bias))


#: the concrete widths and indices every symbolic-width result is also checked at
CONCRETE = ({n0: 2, n1: 3, n2: 2, p: 2, q: 1}, {n0: 3, n1: 2, n2: 3, p: 1, q: 3})


def decide(definition, code, bounds: dict, given: dict | None = None) -> tuple[str, str]:
    """(status, detail): whether the code's entry is the definition at every width (``bounds``: each
    index's range), with a concrete instance as second witness, and as the counterexample when not."""
    proven = is_zero(settle(definition, bounds) - code, given)
    for widths in CONCRETE:
        if all(widths[index] <= sp.sympify(high).xreplace(widths) for index, (_, high) in bounds.items()):
            found = _concrete_difference(definition, code, widths, given)
            if found and proven:
                return UNDECIDED, f"reduced to 0 at symbolic widths, but not at {found} (sympy's sums disagree)"
            if found:
                return REFUTED, f"at {found}"
    return (PROVEN, "") if proven else (UNDECIDED, "not reduced to 0, and equal at the concrete widths tried")


def _concrete_difference(definition, code, widths: dict, given) -> str:
    """Where the definition and the code differ at ``widths`` and random numbers, in words (else "")."""
    left, right = (sp.sympify(e).xreplace(widths).doit() for e in (definition, code))
    indexed = sorted((left.atoms(sp.Indexed) | right.atoms(sp.Indexed)), key=sp.default_sort_key)
    names = {e: sp.Symbol(str(e).replace("[", "").replace("]", "").replace(", ", "_")) for e in indexed}
    left, right = left.xreplace(names), right.xreplace(names)
    rng = random.Random(0)
    point = {names[e]: sp.Rational(rng.randint(1, 10**6), 10**6) for e in indexed}
    if given:
        last = names.get(Y[widths[n2]])
        if last is not None:
            point[last] = 1 - sum(v for e, v in point.items() if str(e).startswith("y") and e != last)
    evaluator = Evaluator()
    try:
        values = [stable_value(evaluator, e, point) for e in (left, right)]
    except Undefined:
        return ""
    if any(v is None for v in values):
        return ""
    values = [sp.Float(v, DIGITS) for v in values]
    if not differs(*values):
        return ""
    where = ", ".join(f"{s} = {w}" for s, w in widths.items())
    return f"{where}: the definition gives {sp.N(values[0], 10)}, the code {sp.N(values[1], 10)}"


def _instantiated(step, *args):
    """The code run at symbolic widths; an exception (code that needs a concrete width) is returned."""
    try:
        return step(*args)
    except (TypeError, ValueError, AttributeError, IndexError) as error:
        return error


def _lemma(name: str, statement: str, found, compare) -> Lemma:
    if isinstance(found, Exception):
        return Lemma(name, statement, UNDECIDED, METHOD,
                     detail=f"the code could not be run at symbolic widths: {type(found).__name__}: {found}")
    status, detail = compare(found)
    return Lemma(name, statement, status, METHOD, detail=detail)


def base_lemma(loss_name: str, output: str, recurrence: PsiRecurrence = PSI) -> Lemma:
    """The code's Ψ at the output is ∂E/∂uₚ at every output width n2."""
    hidden = "identity" if output == "softmax" else output
    gen = generic_network(hidden, output, loss_name)
    loss = LOSSES[loss_name]
    given = {sp.Sum(Y[k], (k, 1, n2)): 1} if loss.targets == "probabilities" else None
    found = _instantiated(recurrence.output_psi, gen)
    statement = (f"{loss.formula}, {output} output: the recurrence's Ψₚ is ∂E/∂zₚ for every width"
                 + (" given Σₖ yₖ = 1" if given else ""))
    return _lemma(f"base {loss_name} ({output})", statement, found,
                  lambda psi: decide(sp.diff(gen.error, U[p]), psi.entry(p), {p: (1, n2)}, given))


def step_lemma(activation: str, bias: bool, recurrence: PsiRecurrence = PSI) -> Lemma:
    """The code's step is the chain rule: Ψ[l−1]_q = Σᵢ gᵢ·∂z'ᵢ/∂z_q, every width."""
    gen = generic_network(activation, activation, "half-sse", bias)
    found = _instantiated(recurrence.propagate, gen, 1, GenericVector(n2, lambda c: G[c]))
    z_next = gen.wbar[1] * gen.xbar[1]
    chain = sp.diff(sp.Sum(G[i] * z_next.entry(i), (i, 1, n2)), Z[q])
    statement = (f"the recurrence's Ψ[l−1]_q = (W̄[l]{'[:, 1:]' if bias else ''}ᵀ·Ψ[l])_q·a'(z_q) is "
                 f"Σᵢ Ψᵢ·∂z'ᵢ/∂z_q for every width ({activation})")
    return _lemma(f"step {activation}{'' if bias else ' (no bias)'}", statement, found,
                  lambda psi: decide(chain, psi.entry(q), {q: (1, n1)}))


def weight_lemma(bias: bool, recurrence: PsiRecurrence = PSI) -> Lemma:
    """The code's ∂E/∂W̄ entry (p, q) is ∂/∂v_pq Σᵢ gᵢ·zᵢ (and the bias column's), every width."""
    gen = generic_network("identity", "identity", "half-sse", bias)
    found = _instantiated(recurrence.weight_gradient, gen, 0, GenericVector(n1, lambda c: G[c]))
    z = gen.wbar[0] * gen.xbar[0]
    total = sp.Sum(G[i] * z.entry(i), (i, 1, n1))
    bounds = {p: (1, n1), q: (1, n0)}

    def compare(grad):
        status, detail = decide(sp.diff(total, V[p, q]), grad.entry(p, q), bounds)
        if status == PROVEN and bias:
            status, detail = decide(sp.diff(total, V[p, 0]), grad.head(p), bounds)
        return status, detail
    statement = ("the recurrence's ∂E/∂ˡw^q_p = Ψ_p·X̄_q" + (" (X̄₀ = 1 for the bias)" if bias else "")
                 + " for every width")
    return _lemma(f"weight{'' if bias else ' (no bias)'}", statement, found, compare)


#: the depths at which the loop that assembles the steps is checked (its code does not depend on the depth
#: but through range(depth); a loop is Python, not an expression: checked, and the rest assumed)
LOOP_DEPTHS = tuple(range(1, 9))


def loop_lemma(recurrence: PsiRecurrence = PSI) -> Lemma:
    """The code's loop (``psis``, ``gradients``) composes the steps as the induction does: Ψ[L−1] the output
    step, Ψ[l−1] = propagate(l, Ψ[l]), ∂E/∂W̄[l] = weight_gradient(l, Ψ[l]); run with stand-in steps that
    return what they were given, at depths 1 … 8."""
    traced = type("Traced", (type(recurrence),), {
        "output_psi": lambda self, sym: ("output Ψ",),
        "propagate": lambda self, sym, layer, psi: ("propagate", layer, psi),
        "weight_gradient": lambda self, sym, layer, psi: ("weight", layer, psi)})
    statement = (f"the recurrence's loop assembles ∂E/∂W̄[l] from Ψ[L−1] = the output step and Ψ[l−1] = the step "
                 f"from Ψ[l] (checked at depths {LOOP_DEPTHS[0]} … {LOOP_DEPTHS[-1]}; the same code for every depth)")
    for depth in LOOP_DEPTHS:
        expected, psi = [None] * depth, ("output Ψ",)
        for layer in range(depth - 1, -1, -1):
            expected[layer] = ("weight", layer, psi)
            psi = ("propagate", layer, psi)
        try:
            found = tuple(traced.gradients(object.__new__(traced), _Depth(depth)))
        except Exception as error:  # noqa: BLE001 - the loop's own failure is the lemma's result
            return Lemma("loop", statement, UNDECIDED, "the loop run with stand-in steps",
                         detail=f"the loop could not be run at depth {depth}: {type(error).__name__}: {error}")
        if found != tuple(expected):
            return Lemma("loop", statement, REFUTED, "the loop run with stand-in steps",
                         detail=f"at depth {depth} it assembles {_steps(found)}, the induction {_steps(expected)}")
    return Lemma("loop", statement, PROVEN, "the loop run with stand-in steps")


@dataclass(frozen=True)
class _Depth:
    """What the loop reads of a network: its depth (``sym.network.depth``)."""

    depth: int

    @property
    def network(self):
        return self


def _steps(gradients) -> str:
    def shown(step):
        if not isinstance(step, tuple) or not step:
            return repr(step)
        return "Ψ[L−1]" if step == ("output Ψ",) else f"{step[0]}({', '.join(shown(s) for s in step[1:])})"
    return "[" + "; ".join(shown(g) for g in gradients) + "]"


@dataclass(frozen=True)
class GeneralProof:
    """The recurrence for every architecture: the lemmas, what they prove together, what is assumed."""

    activations: tuple[str, ...]
    losses: tuple[str, ...]
    lemmas: tuple[Lemma, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(lemma.status == PROVEN for lemma in self.lemmas)

    @property
    def caveats(self) -> tuple[str, ...]:
        """Where the result stops: an activation's kink."""
        return tuple(f"with {name}: wherever no weighted sum is exactly 0 (its kink; {name}'(0) = 0 by convention)"
                     for name in self.activations if getattr(get_activation(name), "kinks", ()))

    @property
    def statement(self) -> str:
        acts = ", ".join(self.activations)
        caveats = "".join(f"; {caveat}" for caveat in self.caveats)
        return (f"for every depth L ≥ 1, all widths [n0, …, nL], with and without biases, hidden activation "
                f"{acts}" + (" (every differentiable activation)" if "generic" in self.activations else "") +
                f", and the losses {', '.join(self.losses)}: the source text's Ψ recurrence (its own code, "
                f"PsiRecurrence) gives ∂E/∂W̄[l] = Ψ[l] ⊗ X̄[l] for every weight{caveats}")

    def to_dict(self) -> dict:
        """The prove JSON's shape (ok; proven, total, refuted, undecided counted in lemmas; assumptions as a
        list), with what only the general proof has: the statement proven, its caveats, the families."""
        counts = {status: sum(lemma.status == status for lemma in self.lemmas) for status in (PROVEN, REFUTED)}
        return {"ok": self.ok, "method": "general", "proven": counts[PROVEN], "total": len(self.lemmas),
                "refuted": counts[REFUTED], "undecided": len(self.lemmas) - counts[PROVEN] - counts[REFUTED],
                "counted": "lemmas", "statement": self.statement if self.ok else None,
                "assumptions": [part.strip() for part in ASSUMED.split(";")], "caveats": list(self.caveats),
                "activations": list(self.activations), "losses": list(self.losses),
                "seconds": round(self.seconds, 6), "lemmas": [lemma.to_dict() for lemma in self.lemmas]}


def prove_general(activations=("generic",), losses=tuple(LOSSES), recurrence: PsiRecurrence = PSI) -> GeneralProof:
    """Prove the recurrence's own code for every architecture with these hidden activations and losses."""
    start = time.perf_counter()
    if not composes_its_steps(recurrence):
        raise InputError("the general proof proves a recurrence's steps (a PsiRecurrence that keeps its "
                         "gradients() loop)")
    fresh_rules(generic_network("identity", "identity", "half-sse").network)
    rules = list(dict.fromkeys(activations))
    rules += ["sigmoid"] * ("bce" in losses and "sigmoid" not in rules) + ["softmax"] * ("softmax-ce" in losses)
    lemmas = [activation_lemma(get_activation(name)) for name in rules] + [loop_lemma(recurrence)]
    for bias in (True, False):
        lemmas += [step_lemma(act, bias, recurrence) for act in activations] + [weight_lemma(bias, recurrence)]
    for loss in losses:
        outputs = ["softmax"] if loss == "softmax-ce" else ["sigmoid"] if loss == "bce" else list(activations)
        lemmas += [base_lemma(loss, output, recurrence) for output in dict.fromkeys(outputs)]
    return GeneralProof(tuple(activations), tuple(losses), tuple(lemmas), time.perf_counter() - start)
