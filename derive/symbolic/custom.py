"""Your own activations and losses, from an expression: ``swish = z*sigmoid(z)``, ``logcosh = log(cosh(a - y))``.

- :func:`define_activation` — a(z) from an expression in ``z``; its derivative rule is ``sympy.diff`` of it, or
  the rule you give, which must then be proven equal to d/dz of the expression (else an InputError with
  the point where they differ, out to |z| = 64, both values correct to 40 digits). The result is a model
  :class:`~gradproof.derive.model.activations.Elementwise` whose ``symbolic`` field carries an opaque
  sympy function (its ``fdiff`` is the rule, as for the built-in ones) and the closed form, and whose
  numpy forms come from ``lambdify``. Kinks (Max, Min, Abs, Heaviside, sign, Piecewise) are found and
  recorded, so finite differences do not step across them.
- :func:`define_loss` — E = Σₖ ℓ(aₖ, yₖ) from an expression ℓ in ``a`` (the output) and ``y`` (the target);
  ∂ℓ/∂a is ``sympy.diff`` or your rule (proven the same way). With ``log(a)`` or ``log(1 - a)`` in it, its
  targets lie in [0, 1] (use a sigmoid output layer).
- :func:`parse_definitions` — one definition as written on the command line: ``NAME=EXPRESSION`` (a loss when the
  expression uses ``a`` or ``y``, an activation when it uses ``z``), or ``NAME'=RULE`` for the rule of a
  NAME defined in the same list. :func:`resolve` turns the command line's ``--activation``, ``--loss`` and
  ``--define`` into model objects.

Expressions may use: + − * / **, exp, log, sqrt, sin, cos, tan, sinh, cosh, tanh, erf, Abs, sign, Max,
Min, Heaviside, Piecewise, pi, E, sigmoid, softplus, and numbers. Every definition, text or sympy expression,
passes :mod:`~gradproof.derive.symbolic.well_formed` first (one clear InputError for what cannot be one).
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
import sympy as sp

from gradproof.derive.errors import InputError
from gradproof.derive.model.activations import ACTIVATIONS, Elementwise
from gradproof.derive.model.losses import LOSSES, Loss
from gradproof.derive.proof.canonical import shown_positive
from gradproof.derive.proof.counterexample import evaluate
from gradproof.derive.proof.denominators import bases
from gradproof.derive.proof.domains import unreal_parts
from gradproof.derive.proof.evaluation import DIGITS, Evaluator, Undefined, stable_value
from gradproof.derive.proof.identity import exact_numbers
from gradproof.derive.symbolic.forms import ElementwiseForm, LossForm
from gradproof.derive.symbolic.functions import (LAMBDIFY_MODULES, NUMPY_FUNCTIONS, explicit, numeric_printer, sigmoid,
                                                 softplus)
from gradproof.derive.symbolic.kink_points import locate
from gradproof.derive.symbolic.walk import nodes_of
from gradproof.derive.symbolic.well_formed import NAME, check_expression, parse_text

_real_erf = np.vectorize(math.erf, otypes=[float])


def _erf(u):
    """erf for numpy arrays; for a complex u (a complex step) to first order in Im u, which is what a complex
    step uses: erf(x + iη) = erf(x) + iη·(2/√π)·e^(−x²) + O(η²)."""
    if not np.iscomplexobj(u):
        return _real_erf(u)
    x = np.real(u)
    return _real_erf(x) + 1j * np.imag(u) * (2 / math.sqrt(math.pi)) * np.exp(-x * x)


def _real_sign(u: sp.Expr) -> sp.Expr:
    """sign of a real argument, written 2·Heaviside(u) − 1 (0 at u = 0, as sign is): sympy leaves d/dx sign(u)
    unevaluated when it cannot tell u is real (u = σ(z) − y with σ opaque), while Heaviside differentiates to
    DiracDelta(u)·u' for every u; every argument here is real (the network's values). One sympy function,
    which the prover's vocabulary knows, rather than a subclass of sign, which it rightly treats as foreign."""
    return 2 * sp.Heaviside(u) - 1


Z, A, Y = sp.Symbol("z", real=True), sp.Symbol("a", real=True), sp.Symbol("y", real=True)
ALLOWED = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
           "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "erf": sp.erf, "Abs": sp.Abs, "abs": sp.Abs,
           "sign": _real_sign, "Max": sp.Max, "Min": sp.Min, "max": sp.Max, "min": sp.Min, "Heaviside": sp.Heaviside,
           "Piecewise": sp.Piecewise, "pi": sp.pi, "E": sp.E, "sigmoid": sigmoid, "softplus": softplus}
#: how many arguments each function of ALLOWED takes: the least and the most (None: any number); pi and E
#: are numbers
ARITY = {**dict.fromkeys(("exp", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "erf", "Abs", "abs", "sign",
                          "sigmoid", "softplus"), (1, 1)),
         "log": (1, 2), "Heaviside": (1, 2), **dict.fromkeys(("Max", "Min", "max", "min", "Piecewise"), (1, None))}
def _analytic_abs(u):
    """|u| continued analytically from each side (u·sign(Re u)): a complex step through it keeps its slope,
    where numpy's abs of a complex number would drop it."""
    return u * np.sign(np.real(u))


def _numeric_sign(u):
    return np.sign(np.real(u))


def _dirac_delta(u, *order):
    """sympy's DiracDelta (d/dz of sign or Heaviside) where numbers are evaluated: 0 off the kink; at the
    kink itself the numeric check refuses anyway (the kinks are found and marked)."""
    return 0 * u


#: lambdify's names for the functions numpy lacks or computes non-analytically for complex numbers (the
#: numeric check takes complex steps through them); registered in gradproof's table when a form uses them
COMPLEX_SAFE = {"erf": _erf, "Abs": _analytic_abs, "sign": _numeric_sign, "DiracDelta": _dirac_delta}
_MODULES = LAMBDIFY_MODULES


def _register() -> None:
    for name, function in COMPLEX_SAFE.items():
        NUMPY_FUNCTIONS.setdefault(name, function)


def exact(expr) -> sp.Expr:
    """A definition given as a sympy expression, as the text form reads it: every Float the exact rational
    it holds (a Float in E would make sympy round where the proof subtracts and cancels: 1/2 + 2⁻⁶⁰ − 0.5
    is 0.0), and sign(u) as :func:`_real_sign`."""
    try:
        return exact_numbers(expr).replace(sp.sign, _real_sign)
    except (sp.SympifyError, TypeError, AttributeError) as error:
        raise InputError(f"{expr!r} is not a sympy expression ({type(error).__name__})") from None


def _numpy_form(variables, expr, what: str):
    """``lambdify``, or an InputError saying what numpy cannot compute (a zeta, a floor's derivative)."""
    try:
        return sp.lambdify(variables, expr, modules=_MODULES, printer=numeric_printer())
    except Exception as error:  # noqa: BLE001 - sympy's printers raise several kinds
        raise InputError(f"{what}: {expr} has no numpy form ({type(error).__name__}): use the functions "
                         "exp, log, tanh, sigmoid, Max, … in your definition") from None


def parse(text: str, variables: dict, what: str) -> sp.Expr:
    """``text`` as a sympy expression in ``variables`` and the ALLOWED functions, or a clear InputError (see
    :mod:`~gradproof.derive.symbolic.well_formed`). A decimal is the number as typed (``0.01`` is 1/100,
    exactly: see :func:`exact`)."""
    return check_expression(parse_text(text, {**ALLOWED, **variables}, ARITY, what), variables, what, text)


def _given(expression, variables: dict, what: str) -> sp.Expr:
    """A definition as text or as a sympy expression, checked (:mod:`~gradproof.derive.symbolic.well_formed`)
    and exact (:func:`exact`)."""
    if isinstance(expression, str):
        return parse(expression, variables, what)
    try:
        expr = sp.sympify(expression, strict=True)
    except (sp.SympifyError, TypeError, AttributeError) as error:
        raise InputError(f"{what}: {expression!r} is not a sympy expression ({type(error).__name__})") from None
    return exact(check_expression(expr, variables, what))


#: names defined here (they may be defined again, e.g. with another rule)
_DEFINED: set[str] = set()


def _check_name(name: str, taken) -> str:
    if not NAME.match(name or ""):
        raise InputError(f"{name!r} is not a name: use letters, digits and _ (e.g. swish)")
    if name not in _DEFINED and (name in taken or name in ALLOWED or name in NUMPY_FUNCTIONS or name in "azy"):
        raise InputError(f"{name!r} is already taken by gradproof: choose another name")
    _DEFINED.add(name)
    return name


def kinks(expr: sp.Expr, variable: sp.Symbol) -> tuple[float, ...]:
    """The real points located where ``expr`` may have a kink: where the arguments of Max, Min, Abs,
    Heaviside, sign meet, and the boundaries of Piecewise conditions (see
    :mod:`~gradproof.derive.symbolic.kink_points`: only those found cheaply and exactly)."""
    return locate(expr, variable)[0]


def _kink_fields(closed: sp.Expr, name: str) -> dict:
    """The activation's kinks: the points located, and the expressions whose zeros were not located
    (printed, and in numpy for the numeric checks' sign watch)."""
    points, unlocated = locate(closed, Z)
    fields = {"kinks": points, "unlocated_kinks": tuple(str(edge) for edge in unlocated)}
    if unlocated:
        watch = _numpy_form(Z, sp.Tuple(*unlocated), f"{name}'s kinks")
        fields["np_kink_edges"] = lambda z: [np.broadcast_to(edge, np.shape(z)) for edge in watch(z)]
    return fields


#: the points a rule is tried at are k/997, k not a multiple of 997: a kink at a rational with a denominator
#: below 997 (0, ±1, ½, …) is never one of them, so a rule is not refuted where the derivative itself does not
#: exist. First 24 drawn in (−4, 4), then a spread to |z| = 64: WIDE magnitudes in geometric steps from 1 to
#: 64 (8 per octave: a rule wrong beyond some |z| < 64 is met within 9% above it), each at both signs
_RULE_DENOMINATOR, _RULE_POINTS, _RULE_LIMIT, _WIDE = 997, 24, 64, 49
#: a gap counts when it stands above this share of max(1, |derivative|), at 40 digits confirmed at 80
_RULE_GAP = sp.Float(10) ** -30


def _rule_points(variables: list) -> list[dict]:
    """The points a rule is tried at (see above): every variable drawn the same way, the first (the one
    differentiated) over the spread in order of magnitude, the others at random magnitudes in it."""
    rng = random.Random(0)
    near = [{v: _rational(rng.uniform(-4, 4)) for v in variables} for _ in range(_RULE_POINTS)]
    wide = []
    for j in range(_WIDE):
        magnitude = _RULE_LIMIT ** (j / (_WIDE - 1))
        for sign in (1, -1):
            point = {v: _rational(rng.choice((1, -1)) * _RULE_LIMIT ** rng.random()) for v in variables[1:]}
            wide.append({variables[0]: _rational(sign * magnitude), **point})
    return near + wide


def _rational(x: float) -> sp.Rational:
    """k/997 nearest to ``x`` with k not a multiple of 997 (so never a simpler rational)."""
    k = round(x * _RULE_DENOMINATOR)
    return sp.Rational(k + (1 if k % _RULE_DENOMINATOR == 0 else 0), _RULE_DENOMINATOR)


def _differs_at(derivative: sp.Expr, rule: sp.Expr, point: dict):
    """At ``point``, where the derivative has a real value: (its value, the rule's or None where the rule
    has no real value) when they differ — found at 40 digits, confirmed with values correct to 40 digits
    (computed at increasing precision until two agree: cancellation at a large |z| cannot fake a gap) —
    else None (they agree, or the derivative has no value there: outside its domain nothing is claimed)."""
    if (true := _value(derivative, point)) is None:
        return None
    given = _value(rule, point)
    if given is not None and abs(given - true) <= _RULE_GAP * max(1, abs(true)):
        return None
    true, given = _stable(derivative, point), _stable(rule, point)
    if true is None or (given is not None and abs(given - true) <= _RULE_GAP * max(1, abs(true))):
        return None
    return true, given


def _digits(true, given) -> int:
    """Enough significant digits to show the two values apart (15 at least, 40 at most)."""
    if given is None or true == 0:
        return 15
    apart = float(abs(given - true) / abs(true))
    return min(DIGITS, max(15, math.ceil(-math.log10(apart)) + 4)) if apart > 0 else DIGITS


def _value(expr: sp.Expr, point: dict):
    """``expr`` at ``point`` with 40 digits, None where it has no real value there."""
    try:
        return evaluate(expr, point)
    except Undefined:
        return None


def _stable(expr: sp.Expr, point: dict):
    """``expr`` at ``point`` correct to 40 digits, None where it has no real value or no stable one."""
    try:
        value = stable_value(Evaluator(), expr, point)
    except Undefined:
        return None
    return None if value is None else sp.Float(value, DIGITS)


def _defined_alike(derivative: sp.Expr, rule: sp.Expr) -> bool:
    """Whether ``rule`` has no pole (a denominator not shown positive) and no part not shown real that
    ``derivative`` lacks: simplify cancels
    (z + 1)·log(Max(z − 300, 0)) − z·log(…) − log(…) to 0, though the rule has no value for any z ≤ 300."""
    own, poles = nodes_of(derivative), set(bases(derivative))
    return not unreal_parts(rule, shown_positive, own) and \
        all(base in poles or shown_positive(base) for base in bases(rule))


def _prove_rule(expression: sp.Expr, rule: sp.Expr, variables: list, what: str) -> None:
    """``rule`` equals d/d(first variable) of ``expression``, or an InputError with a point that shows
    otherwise (both evaluated to 40 correct digits at points of either sign, out to |z| = 64)."""
    derivative = sp.diff(expression, variables[0])
    if _defined_alike(explicit(derivative), explicit(rule)) and \
            sp.simplify(explicit(derivative - rule).rewrite(sp.exp)) == 0:
        return
    for point in _rule_points(variables):
        found = _differs_at(explicit(derivative), explicit(rule), point)
        if found is not None:
            true, given = found
            where = ", ".join(f"{v} = {p} ≈ {float(p):.6g}" for v, p in point.items())
            digits = _digits(true, given)
            gap = "where the rule has no real value" if given is None else f"by {float(abs(given - true)):.3g}"
            yours = "has none" if given is None else f"is {sp.N(given, digits)}"
            raise InputError(f"{what}: the rule is not the derivative: at {where} it differs from d/d{variables[0]} "
                             f"of the expression {gap} (the derivative is {sp.N(true, digits)}, the rule {yours}; "
                             f"both correct to {DIGITS} digits)")
    count = _RULE_POINTS + 2 * _WIDE
    raise InputError(f"{what}: the rule could not be proven equal to the derivative (simplify left "
                     f"{sp.simplify(derivative - rule)}), nor shown to differ at {count} points of either sign out "
                     f"to |{variables[0]}| = {_RULE_LIMIT} where the derivative has a real value: give it in another "
                     "form")


def define_activation(name: str, expression: str | sp.Expr, derivative: str | sp.Expr | None = None) -> Elementwise:
    """An activation a(z) = ``expression`` (in ``z``), with ``derivative`` as its rule (default:
    sympy.diff), proven; see the module doc."""
    name = _check_name(name, ACTIVATIONS)
    _register()
    closed = _given(expression, {"z": Z}, name)
    if derivative is None:
        rule, shown = sp.diff(closed, Z), "derived by sympy"
    else:
        rule = _given(derivative, {"z": Z}, f"{name}'")
        _prove_rule(closed, rule, [Z], f"{name}'")
        shown = "yours, equal to sympy.diff by simplify"
    function = type(name, (sp.Function,), {"nargs": 1,
                                           "fdiff": lambda self, argindex=1: rule.xreplace({Z: self.args[0]})})
    explicit_closed = explicit(closed)  # the lemma differentiates the closed form by the definition
    form = ElementwiseForm(function, lambda z: explicit_closed.xreplace({Z: z}))
    numpy_closed = _numpy_form(Z, closed, name)
    NUMPY_FUNCTIONS[name] = lambda z: _broadcast(numpy_closed(z), z)   # a constant (c=1) as an array too
    numpy_rule = _numpy_form(Z, rule, f"{name}'")
    return Elementwise(name, f"{name}(z) = {closed}, {name}' = {rule} ({shown})",
                       f"\\operatorname{{{name}}}(z) = {sp.latex(closed)}", symbolic=form,
                       numpy=NUMPY_FUNCTIONS[name], np_derivative=lambda z: _broadcast(numpy_rule(z), z),
                       **_kink_fields(closed, name))


def _broadcast(value, like):
    """A lambdified constant (a rule like 1) as an array shaped like the input."""
    return value if np.shape(value) == np.shape(like) else np.broadcast_to(value, np.shape(like)) + 0 * like


def define_loss(name: str, expression: str | sp.Expr, gradient: str | sp.Expr | None = None) -> Loss:
    """A loss E = Σₖ ℓ(aₖ, yₖ) with ℓ = ``expression`` in ``a`` and ``y``, and ``gradient`` as ∂ℓ/∂a
    (default: sympy.diff), proven; see the module doc."""
    name = _check_name(name, LOSSES)
    _register()
    variables = {"a": A, "y": Y}
    term = _given(expression, variables, name)
    derived = given = sp.diff(term, A)
    if gradient is not None:
        given = _given(gradient, variables, f"{name}'")
        _prove_rule(term, given, [A, Y], f"{name}'")
    # once proven equal, the form carries sympy's derivative: the lemmas compare it with sympy.diff exactly
    form = LossForm(lambda out, ys: sp.Add(*(term.xreplace({A: ak, Y: yk}) for ak, yk in zip(out, ys))),
                    lambda out, ys: [derived.xreplace({A: ak, Y: yk}) for ak, yk in zip(out, ys)])
    value, slope = _numpy_form((A, Y), term, name), _numpy_form((A, Y), derived, f"{name}'")
    unit = term.has(sp.log(A)) or term.has(sp.log(1 - A))
    return Loss(name, f"E = Σₖ {term.xreplace({A: sp.Symbol('aₖ'), Y: sp.Symbol('yₖ')})}",
                f"your loss {name}: ℓ(a, y) = {term}, ∂ℓ/∂a = {given}" +
                (" (your rule, equal to sympy.diff by simplify)" if gradient is not None else " (derived by sympy)"),
                lambda z, a, y: np.sum(value(a, y) + 0 * a, axis=0),
                lambda a, y: _broadcast(slope(a, y), a),
                lambda a, y: np.abs(_broadcast(slope(a, y), a)) + np.abs(a) + np.abs(y),
                latex=f"E = \\sum_k {sp.latex(term.xreplace({A: sp.Symbol('a_k'), Y: sp.Symbol('y_k')}))}",
                targets="unit-interval" if unit else "any", symbolic=form)


def parse_definitions(definitions: list[str], losses: frozenset = frozenset(),
                      activations: frozenset = frozenset()) -> dict:
    """Name → Activation or Loss, from ``NAME=EXPRESSION`` and ``NAME'=RULE`` strings; a name in ``losses``
    (the one --loss names) is a loss whatever its expression holds (a constant has neither z nor a, y), a
    name in ``activations`` (those --activation names) an activation."""
    bodies, rules = {}, {}
    for text in definitions:
        head, sep, body = text.partition("=")
        head = head.strip()
        if not sep or not body.strip():
            raise InputError(f"--define {text!r}: write NAME=EXPRESSION (e.g. swish=z*sigmoid(z)) or NAME'=RULE")
        (rules if head.endswith("'") else bodies)[head.rstrip("'")] = body.strip()
    orphans = sorted(set(rules) - set(bodies))
    if orphans:
        raise InputError(f"--define {orphans[0]}'=…: no {orphans[0]}=… to go with it")
    defined = {}
    for name, body in bodies.items():
        is_loss = name in losses or name not in activations and bool(re.search(r"\b[ay]\b", body)) and \
            not re.search(r"\bz\b", body)
        defined[name] = (define_loss if is_loss else define_activation)(name, body, rules.get(name))
    return defined


def resolve(activation_text: str | None, loss_text: str | None, definitions: list[str] | None):
    """The command line's --activation, --loss and --define, with definitions turned into objects: a
    value with '=' is one definition; names refer to --define'd ones or built-in ones."""
    texts = list(definitions or [])
    if activation_text and "=" in activation_text:
        texts.append(activation_text)
        activation_text = activation_text.partition("=")[0].strip()
    if loss_text and "=" in loss_text:
        texts.append(loss_text)
        loss_text = loss_text.partition("=")[0].strip()
    names = [n.strip() for n in activation_text.split(",")] if activation_text is not None else None
    if loss_text in (names or ()):
        raise InputError(f"{loss_text} is named by both --activation and --loss: an activation is a function of z, "
                         "a loss of a and y")
    defined = parse_definitions(texts, frozenset({loss_text}) if loss_text else frozenset(), frozenset(names or ()))
    unused = sorted(set(defined) - set(names or ()) - {loss_text})
    if unused:   # defined and then not used: the network would silently be another one
        raise InputError(f"--define {unused[0]}: defined but not used; name it with --activation {unused[0]} or "
                         f"--loss {unused[0]}")
    acts = None if names is None else [defined.get(name, name) for name in names]
    return acts, (defined.get(loss_text, loss_text) if loss_text is not None else None)
