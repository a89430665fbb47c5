"""The small facts a weight-by-weight proof rests on, each proven on its own.

- Every activation's hand-written derivative rule equals the derivative of its closed form
  (the opaque sympy classes differentiate by these rules, so the direct form is the definition only
  once the rules are proven).
- The loss's hand-written ∂E/∂a equals ``sympy.diff`` of E.
- Where a loss fixes its output activation, Ψ at the output, derived through that activation's
  Jacobian, collapses to the closed form (a − y).
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.model.activations import Activation
from gradproof.derive.proof.result import PROVEN, REFUTED, UNDECIDED, Lemma
from gradproof.derive.symbolic.forms import SoftmaxForm, activation_form, loss_form
from gradproof.derive.symbolic.functions import explicit
from gradproof.derive.proof.identity import decide_zero
from gradproof.derive.model.losses import Loss

def activation_lemma(act: Activation) -> Lemma:
    """The activation's derivative rule against the derivative of its closed form."""
    form = activation_form(act)
    if isinstance(form, SoftmaxForm):
        return _softmax_lemma(form)
    if form.closed_form is None:
        return Lemma(f"{act.name}'", f"a' is the derivative of a, by definition ({act.description})",
                     PROVEN, "definition", "$a'$ is the derivative of $a$, by definition")
    kinks = getattr(act, "kinks", ())
    regions = [{"positive": True}, {"negative": True}] if kinks else [{"real": True}]
    statuses = []
    for assumptions in regions:
        t = sp.Symbol("t", **assumptions)
        difference = sp.diff(form.closed_form(t), t) - explicit(form.derivative(t))
        statuses.append(sp.simplify(difference) == 0)
    where = " for z ≠ 0 (the kink: relu'(0) = 0 by convention)" if kinks else ""
    tex_where = " for $z \\neq 0$ (at the kink $\\operatorname{relu}'(0) = 0$ by convention)" if kinks else ""
    return Lemma(f"{act.name}'", f"{act.description}: the rule is d/dz of the closed form{where}",
                 PROVEN if all(statuses) else UNDECIDED, "sympy.simplify(d/dz closed form − rule) = 0",
                 f"${act.latex}$: the rule is $d/dz$ of the closed form{tex_where}")


def _softmax_lemma(form: SoftmaxForm) -> Lemma:
    n = 3
    z = sp.symbols(f"z1:{n + 1}", real=True)
    g = sp.symbols(f"g1:{n + 1}", real=True)
    out = form.forward(z)
    jacobian_t_g = [sp.Add(*(sp.diff(out[k], z[j]) * g[k] for k in range(n))) for j in range(n)]
    decisions = decide_zero([lhs - rhs for lhs, rhs in zip(jacobian_t_g, form.vjp(z, g))])
    return Lemma("softmax backward", "softmax's backward rule a ⊙ (g − a·g) is (∂a/∂z)ᵀ·g, with "
                  "e^z differentiating to itself (checked at width 3; the weight proof covers the rest)",
                  PROVEN if all(d.is_zero for d in decisions) else REFUTED, "polynomial identity",
                  "softmax's backward rule $a \\odot (g - a^T g)$ is $(\\partial a/\\partial z)^T g$ (checked at "
                  "width 3; the weight proof covers the rest)")


def loss_lemma(loss: Loss, width: int) -> Lemma:
    """The loss's hand-written gradient against ``sympy.diff`` of E, for ``width`` outputs."""
    out = sp.symbols(f"a1:{width + 1}", positive=True)
    y = sp.symbols(f"y1:{width + 1}", real=True)
    form = loss_form(loss)
    error = form.error(out, y)
    decisions = decide_zero([sp.diff(error, ak) - gk for ak, gk in zip(out, form.gradient(out, y))])
    return Lemma(f"{loss.name} gradient", f"∂E/∂a of {loss.formula} is the hand-written rule",
                 PROVEN if all(d.is_zero for d in decisions) else REFUTED, "polynomial identity",
                 f"$\\partial E/\\partial a$ of ${loss.latex}$ is the hand-written rule")


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
    through_jacobian = form.vjp(z, rule.gradient(out, y))
    decisions = decide_zero([lhs - rhs for lhs, rhs in zip(through_jacobian, rule.collapsed(out, y))])
    given = " given Σₖ yₖ = 1" if loss.targets == "probabilities" else ""
    tex_given = " given $\\sum_k y_k = 1$" if loss.targets == "probabilities" else ""
    return Lemma("output Ψ collapses", f"for {loss.name}, (∂a/∂z)ᵀ·∂E/∂a = a − y{given}",
                 PROVEN if all(d.is_zero for d in decisions) else REFUTED, "polynomial identity",
                 f"for {loss.name}, $(\\partial a/\\partial z)^T\\,\\partial E/\\partial a = a - y${tex_given}")


def lemmas_for(network) -> list[Lemma]:
    """Every lemma a proof of ``network`` rests on."""
    found = [activation_lemma(act) for act in dict.fromkeys(network.activations)]
    found.append(loss_lemma(network.loss, network.sizes[-1]))
    collapse = collapse_lemma(network.loss, network.activations[-1], network.sizes[-1])
    if collapse is not None:
        found.append(collapse)
    return found
