"""The small facts a weight-by-weight proof rests on, each proven on its own (or refuted, with numbers).

- Every activation's derivative rule **is** what ``sympy.diff`` applies (the function's ``fdiff``, read
  back through differentiation, and checked at each of the network's weighted sums), and equals the
  derivative of its closed form. A wrong rule is refuted: a point z where d/dz of the closed form and the
  rule differ, both evaluated in high precision.
- The loss's hand-written ∂E/∂a equals ``sympy.diff`` of E.
- Where a loss fixes its output activation, Ψ at the output, derived through that activation's
  Jacobian, collapses to the closed form (a − y).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import sympy as sp

from gradproof.derive.model.activations import Activation
from gradproof.derive.model.losses import Loss
from gradproof.derive.proof.canonical import reduces_to_zero, rewrite
from gradproof.derive.proof.counterexample import differs
from gradproof.derive.proof.evaluation import (DIGITS, WITNESS, WITNESS_ACTIVATION_TEXT, Evaluator, Undefined,
                                               stable_value)
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Lemma
from gradproof.derive.symbolic.forms import ElementwiseForm, SoftmaxForm, activation_form, loss_form
from gradproof.derive.symbolic.functions import Exp, a, a_prime

_T = sp.Symbol("t", real=True)
RULE_METHOD = "d/dz of the closed form against the rule, rewritten in exponentials; else numbers (40 digits)"


def activation_lemma(act: Activation, arguments=()) -> Lemma:
    """The rule ``sympy.diff`` applies to the activation's function, against d/dz of its closed form
    (and, at each of ``arguments``, the rule applied there is the same one)."""
    form = activation_form(act)
    if isinstance(form, SoftmaxForm):
        return _softmax_lemma(form)
    where, tex_where = _kink_condition(act)
    statement = f"{act.description}: the rule sympy.diff applies is d/dz of the closed form{where}"
    latex = f"${act.latex}$: the rule is $d/dz$ of the closed form{tex_where}"
    drift = _rule_drift(form, arguments)
    if drift:
        return Lemma(f"{act.name}'", statement, REFUTED, RULE_METHOD, latex, drift)
    if form.closed_form is None:
        return _definition_lemma(act, form, latex)
    status, detail = rule_matches(form.function, form.closed_form, Evaluator({form.function: form.closed_form})
                                  if isinstance(form.function, type) else Evaluator())
    return Lemma(f"{act.name}'", statement, status, RULE_METHOD, latex, detail)


def _kink_condition(act: Activation) -> tuple[str, str]:
    """Where the activation lemma holds: off its kinks, where its derivative is only a convention (kinks
    not located are named by the expressions whose zeros they are)."""
    kinks, unlocated = getattr(act, "kinks", ()), getattr(act, "unlocated_kinks", ())
    if not kinks and not unlocated:
        return "", ""
    points = ", ".join(f"{k:g}" for k in kinks)
    if not unlocated:
        value = f"{act.name}'({points}) is the rule's value there, a convention"
        tex = f"$\\operatorname{{{act.name}}}'$ at the kink is the rule's value there, a convention"
        return (f" for z ∉ {{{points}}} (the kink: {value})", f" for $z \\notin \\{{{points}\\}}$ ({tex})")
    located = f" for z ∉ {{{points}}} and" if kinks else " for z"
    text = (f"{located} where none of {', '.join(unlocated)} is 0 (kinks not located: {act.name}' there is "
            "the rule's value, a convention)")
    tex = f" for $z$ off its kinks, which were not located ($\\operatorname{{{act.name}}}'$ at a kink is a convention)"
    return text, tex


def rule_matches(function: Callable, closed_form: Callable, evaluator: Evaluator) -> tuple[str, str]:
    """(status, detail): whether d/dt closed_form(t) is the rule sympy.diff applies to ``function``."""
    derivative = sp.diff(closed_form(_T), _T)
    rule = sp.diff(function(_T), _T)
    written = rule.replace(function, closed_form) if isinstance(function, type) else rule  # its definition
    (left, right), basis = rewrite([derivative, written])
    if reduces_to_zero(left - right, basis):
        return PROVEN, ""
    rng = random.Random(0)
    for _ in range(12):
        t = sp.Rational(rng.randint(-3 * 10**6, 3 * 10**6), 10**6)
        found = _differ_at(derivative, rule, {_T: t}, evaluator)
        if found:
            return REFUTED, f"at z = {sp.N(t, 8)}: d/dz of the closed form = {found[0]}, the rule gives {found[1]}"
    return UNDECIDED, "the rule and d/dz of the closed form agree at 12 points (40 digits) but were not reduced"


def _differ_at(left, right, point: dict, evaluator: Evaluator):
    """(left, right) printed to 12 digits if they differ at ``point``, each value stable under rising
    precision (so cancellation cannot fake a difference)."""
    try:
        values = [stable_value(evaluator, side, point) for side in (left, right)]
    except Undefined:
        return None
    if any(v is None for v in values) or not differs(sp.Float(values[0], DIGITS), sp.Float(values[1], DIGITS)):
        return None
    return tuple(str(sp.N(sp.Float(v, DIGITS), 12)) for v in values)


def _rule_drift(form, arguments) -> str:
    """Where ``sympy.diff`` would apply another rule at one of the network's own arguments."""
    if not isinstance(form.function, type):
        return ""
    rule = form.derivative
    for u in arguments:
        applied, expected = form.function(u).fdiff(1), rule(u)
        if applied != expected and sp.expand(applied - expected) != 0:
            return f"at the argument {u} sympy.diff applies {applied}, not the rule {expected}"
    return ""


def _definition_lemma(act: Activation, form: ElementwiseForm, latex: str) -> Lemma:
    """The generic activation: its rule must be a' itself (a proof with it holds for every a)."""
    rule = sp.diff(form.function(_T), _T)
    statement = f"a' is the derivative of a, by definition ({act.description})"
    if form.function is a and rule == a_prime(_T):
        return Lemma(f"{act.name}'", statement, PROVEN, "definition", "$a'$ is the derivative of $a$, by definition")
    if form.function is a:
        status, detail = rule_matches(a, WITNESS[a], Evaluator())
        detail = detail and f"with {WITNESS_ACTIVATION_TEXT}, {detail}"
        return Lemma(f"{act.name}'", statement + ": sympy.diff applies " + str(rule), status, RULE_METHOD, latex,
                     detail)
    return Lemma(f"{act.name}'", f"{act.description}: no closed form to check the rule against", UNDECIDED,
                 RULE_METHOD, latex, "the activation has no closed form")




def _softmax_lemma(form: SoftmaxForm) -> Lemma:
    n = 3
    z = sp.symbols(f"z1:{n + 1}", real=True)
    g = sp.symbols(f"g1:{n + 1}", real=True)
    status, detail = rule_matches(Exp, sp.exp, Evaluator())
    if status != PROVEN:
        return Lemma("softmax backward", "e^z (kept opaque as Exp) differentiates to itself", status, RULE_METHOD,
                     "$e^z$ differentiates to itself", detail)
    out = form.forward(z)
    jacobian_t_g = [sp.Add(*(sp.diff(out[k], z[j]) * g[k] for k in range(n))) for j in range(n)]
    pairs = list(zip(jacobian_t_g, form.vjp(z, g)))
    status, detail = _identity(pairs, lambda rng: {s: _uniform(rng, -2, 2) for s in z + g})
    return Lemma("softmax backward", "softmax's backward rule a ⊙ (g − a·g) is (∂a/∂z)ᵀ·g, with "
                  "e^z differentiating to itself (checked at width 3; the weight proof covers the rest)",
                  status, "polynomial identity",
                  "softmax's backward rule $a \\odot (g - a^T g)$ is $(\\partial a/\\partial z)^T g$ (checked at "
                  "width 3; the weight proof covers the rest)", detail)


def _uniform(rng, low, high):
    return sp.Rational(rng.randint(0, 10**6), 10**6) * (high - low) + low


def _identity(pairs, sample: Callable) -> tuple[str, str]:
    """(status, detail) for "left = right" for every pair: the polynomial test, else numbers."""
    if all(d.is_zero for d in decide_zero([left - right for left, right in pairs])):
        return PROVEN, ""
    rng = random.Random(0)
    for _ in range(12):
        point = sample(rng)
        for k, (left, right) in enumerate(pairs):
            found = _differ_at(left, right, point, Evaluator())
            if found:
                where = ", ".join(f"{s} = {sp.N(v, 8)}" for s, v in point.items())
                return REFUTED, f"entry {k + 1} at {where}: {found[0]} ≠ {found[1]}"
    return UNDECIDED, "not an identity in the activation values, and no counterexample at 12 points"


def loss_lemma(loss: Loss, width: int) -> Lemma:
    """The loss's hand-written gradient against ``sympy.diff`` of E, for ``width`` outputs."""
    out = sp.symbols(f"a1:{width + 1}", positive=True)
    y = sp.symbols(f"y1:{width + 1}", real=True)
    form = loss_form(loss)
    error = form.error(out, y)
    pairs = [(sp.diff(error, ak), gk) for ak, gk in zip(out, form.gradient(out, y))]
    status, detail = _identity(pairs, lambda rng: {**{s: _uniform(rng, sp.Rational(1, 100), sp.Rational(99, 100))
                                                      for s in out}, **{s: _uniform(rng, 0, 1) for s in y}})
    where = _kinks_of(error, out)
    return Lemma(f"{loss.name} gradient", f"∂E/∂a of {loss.formula} is the hand-written rule{where}", status,
                 "polynomial identity", f"$\\partial E/\\partial a$ of ${loss.latex}$ is the hand-written rule"
                 f"{where and ' where its kinks are not met (there the derivative is a convention)'}", detail)


def _kinks_of(error: sp.Expr, out) -> str:
    """Where a loss with Abs, sign, Heaviside, Max, Min or Piecewise in it is differentiable: its gradient
    there is a convention, so the lemma (and every proof resting on it) holds off those points."""
    kinked = sorted({str(node) for node in error.atoms(sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min, sp.Piecewise)
                     if node.free_symbols & set(out)}, key=lambda text: (len(text), text))
    if not kinked:
        return ""
    shown = ", ".join(kinked[:3]) + (", …" if len(kinked) > 3 else "")
    return f", wherever the kinks of {shown} are not met (there the derivative is a convention)"


def collapse_lemma(loss: Loss, act: Activation, width: int) -> Lemma | None:
    """Ψ at the output through the activation's Jacobian equals the loss's collapsed form."""
    if not loss.collapses_with(act):
        return None
    form, rule = activation_form(act), loss_form(loss)
    z = sp.symbols(f"z1:{width + 1}", real=True)
    y = list(sp.symbols(f"y1:{width + 1}", real=True))
    out = form.forward(z)
    if loss.targets == "probabilities":
        y[-1] = 1 - sp.Add(*y[:-1])
    pairs = list(zip(form.vjp(z, rule.gradient(out, y)), rule.collapsed(out, y)))
    free = list(z) + [s for s in y if s.is_Symbol]
    status, detail = _identity(pairs, lambda rng: {s: _uniform(rng, -1, 1) for s in free})
    given = " given Σₖ yₖ = 1" if loss.targets == "probabilities" else ""
    tex_given = " given $\\sum_k y_k = 1$" if loss.targets == "probabilities" else ""
    return Lemma("output Ψ collapses", f"for {loss.name}, (∂a/∂z)ᵀ·∂E/∂a = a − y{given}", status,
                 "polynomial identity",
                 f"for {loss.name}, $(\\partial a/\\partial z)^T\\,\\partial E/\\partial a = a - y${tex_given}", detail)


def lemmas_for(network, sym=None) -> list[Lemma]:
    """Every lemma a proof of ``network`` rests on (``sym``: its symbolic network, for the arguments at
    which each activation's rule is applied)."""
    arguments = {}
    if sym is not None:
        for layer, act in enumerate(network.activations):
            arguments.setdefault(act, []).extend(sym.z[layer])
    found = [activation_lemma(act, arguments.get(act, ())) for act in dict.fromkeys(network.activations)]
    found.append(loss_lemma(network.loss, network.sizes[-1]))
    collapse = collapse_lemma(network.loss, network.activations[-1], network.sizes[-1])
    if collapse is not None:
        found.append(collapse)
    return found
