"""The Ψ recurrence proven for every architecture at once: lemmas at symbolic widths, and induction on depth.

With widths n (a layer) and m (the next) as symbols, weights ``w[i, j]``, weighted sums ``z[j]``, inputs
``x[j]`` and Ψ entries ``g[i]`` as ``IndexedBase`` objects, ``sympy.diff`` of sums over symbolic ranges
gives ``KroneckerDelta`` sums; ``refine(…).doit()`` with the index bounds, iterated to a fixed point,
removes them and their Piecewise guards; factors free of a summation index are pulled out of its sum,
bound variables renamed canonically, and the difference with the recurrence's step expanded to 0.

Lemmas, for the activation a and every loss (with and without biases):

- **base**: Ψ[L−1]ₚ = ∂E/∂zₚ for every output width m and 1 ≤ p ≤ m;
- **step**: Σᵢ gᵢ·∂zᵢ'/∂z_q = (Σᵢ wᵢ_q·gᵢ)·a'(z_q) for z'ᵢ = [wᵢ₀ +] Σⱼ wᵢⱼ·a(zⱼ), all n, m, 1 ≤ q ≤ n;
- **weight**: ∂/∂w_pq Σᵢ gᵢ·z'ᵢ = g_p·x_q (and g_p for the bias w_p0), all n, m, p, q in range.

Induction on the distance from the output then gives ∂E/∂W̄[l] = Ψ[l] ⊗ X̄[l] for every depth and widths:
base, and the step carries "Ψ[l] = ∂E/∂z[l]" down a layer because E depends on z[l−1] only through z[l].
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.model.activations import get_activation
from gradproof.derive.symbolic.forms import ElementwiseForm, activation_form
from gradproof.derive.symbolic.functions import Exp, sigmoid
from gradproof.derive.proof.result import PROVEN, REFUTED, Lemma
from gradproof.derive.model.losses import LOSSES

n, m = sp.symbols("n m", integer=True, positive=True)
i, j, k, p, q = sp.symbols("i j k p q", integer=True)
W, Z, X, G, Y = (sp.IndexedBase(name) for name in ("w", "z", "x", "g", "y"))
ASSUMED = ("the multivariable chain rule; induction on the number of layers; the network's layered "
           "structure (E depends on W̄[l] and z[l−1] only through z[l])")


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
            total += free * (high - low + 1) if tied == 1 else free * sp.Sum(tied.xreplace({var: bound}), (bound, low, high))
        return total
    return sp.expand(visit(expr))


def is_zero(expr, substitutions: dict | None = None) -> bool:
    """Sound: only equivalence transformations (and the stated substitutions), then a structural
    comparison with 0."""
    given = {normalize(key): value for key, value in (substitutions or {}).items()}
    return normalize(normalize(expr).xreplace(given)) == 0


def _activation_forms(name: str):
    form = activation_form(get_activation(name))
    if not isinstance(form, ElementwiseForm):
        raise ValueError(f"{name} is not an elementwise activation")
    return form.function, form.derivative


def base_lemma(loss_name: str, output: str, claimed=None) -> Lemma:
    """Ψ at the output equals ∂E/∂zₚ at every output width m (``claimed``: another Ψₚ to test instead)."""
    override = claimed
    bounds = {p: (1, m)}
    loss = LOSSES[loss_name]
    if loss_name == "softmax-ce":
        total = sp.Sum(Exp(Z[j]), (j, 1, m))
        error = -sp.Sum(Y[k] * sp.log(Exp(Z[k]) / total), (k, 1, m))
        claimed, given = Exp(Z[p]) / total - Y[p], {sp.Sum(Y[k], (k, 1, m)): 1}
        label = "softmax output"
    else:
        a, derivative = (sigmoid, None) if loss_name == "bce" else _activation_forms(output)
        terms = {"half-sse": sp.Rational(1, 2) * (a(Z[k]) - Y[k]) ** 2, "mse": (a(Z[k]) - Y[k]) ** 2 / m,
                 "bce": -(Y[k] * sp.log(a(Z[k])) + (1 - Y[k]) * sp.log(1 - a(Z[k])))}
        error = sp.Sum(terms[loss_name], (k, 1, m))
        claimed = {"half-sse": (a(Z[p]) - Y[p]) * (derivative(Z[p]) if derivative else 1),
                   "mse": 2 * (a(Z[p]) - Y[p]) / m * (derivative(Z[p]) if derivative else 1),
                   "bce": a(Z[p]) - Y[p]}[loss_name]
        given, label = {}, f"{'sigmoid' if loss_name == 'bce' else output} output"
    claimed = claimed if override is None else override
    ok = is_zero(settle(sp.diff(error, Z[p]), bounds) - claimed, given)
    assumption = " given Σₖ yₖ = 1" if given else ""
    return Lemma(f"base {loss_name}", f"{loss.formula}, {label}: Ψₚ = ∂E/∂zₚ for every width m{assumption}",
                 PROVEN if ok else REFUTED, "symbolic sums: settle, normalize, expand")


def step_lemma(activation: str, bias: bool, claimed=None) -> Lemma:
    """Σᵢ gᵢ·∂z'ᵢ/∂z_q = (Σᵢ wᵢ_q gᵢ)·a'(z_q): the recurrence's step is the chain rule, all widths
    (``claimed``: another step to test instead)."""
    a, derivative = _activation_forms(activation)
    inner = sp.Sum(W[i, j] * a(Z[j]), (j, 1, n)) + (W[i, 0] if bias else 0)
    chain = sp.diff(sp.Sum(G[i] * inner, (i, 1, m)), Z[q])
    if claimed is None:
        claimed = sp.Sum(W[i, q] * G[i], (i, 1, m)) * derivative(Z[q])
    ok = is_zero(settle(chain, {q: (1, n)}) - claimed)
    return Lemma(f"step {activation}{'' if bias else ' (no bias)'}",
                 f"Ψ[l−1]_q = (W̄[l]{'[:, 1:]' if bias else ''}ᵀ·Ψ[l])_q·a'(z_q) is Σᵢ Ψᵢ·∂z'ᵢ/∂z_q for every "
                 f"width n, m ({activation})", PROVEN if ok else REFUTED, "symbolic sums: settle, normalize, expand")


def weight_lemma(bias: bool, claimed=None) -> Lemma:
    """∂/∂w_pq Σᵢ gᵢ·z'ᵢ = g_p·X̄_q for every weight, all widths (``claimed``: another entry to test)."""
    inner = sp.Sum(W[i, j] * X[j], (j, 1, n)) + (W[i, 0] if bias else 0)
    sum_ = sp.Sum(G[i] * inner, (i, 1, m))
    bounds = {p: (1, m), q: (1, n)}
    ok = is_zero(settle(sp.diff(sum_, W[p, q]), bounds) - (G[p] * X[q] if claimed is None else claimed))
    if bias:
        ok = ok and is_zero(settle(sp.diff(sum_, W[p, 0]), bounds) - G[p])
    return Lemma(f"weight{'' if bias else ' (no bias)'}",
                 "∂E/∂ˡw^q_p = Ψ_p·X̄_q" + (" (X̄₀ = 1 for the bias)" if bias else "") + " for every width",
                 PROVEN if ok else REFUTED, "symbolic sums: settle, normalize, expand")


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
    def statement(self) -> str:
        acts = ", ".join(self.activations)
        return (f"for every depth L ≥ 1, all widths [n0, …, nL], with and without biases, hidden activation "
                f"{acts}" + (" (every differentiable activation)" if "generic" in self.activations else "") +
                f", and the losses {', '.join(self.losses)}: the source text's Ψ recurrence gives "
                "∂E/∂W̄[l] = Ψ[l] ⊗ X̄[l] for every weight")

    def to_dict(self) -> dict:
        return {"ok": self.ok, "method": "general", "proven": self.statement if self.ok else None,
                "assumed": ASSUMED, "activations": list(self.activations), "losses": list(self.losses),
                "seconds": round(self.seconds, 6), "lemmas": [lemma.to_dict() for lemma in self.lemmas]}


def prove_general(activations=("generic",), losses=tuple(LOSSES)) -> GeneralProof:
    """Prove the recurrence for every architecture with these hidden activations and losses."""
    start = time.perf_counter()
    lemmas = []
    for bias in (True, False):
        lemmas += [step_lemma(act, bias) for act in activations] + [weight_lemma(bias)]
    for loss in losses:
        outputs = ["softmax"] if loss == "softmax-ce" else ["sigmoid"] if loss == "bce" else list(activations)
        lemmas += [base_lemma(loss, output) for output in dict.fromkeys(outputs)]
    return GeneralProof(tuple(activations), tuple(losses), tuple(lemmas), time.perf_counter() - start)
