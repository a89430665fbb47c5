"""Your own activations and losses from expressions: derived or given rules (a wrong one refused with a
point), proof, numeric check, derivation and LaTeX with them, and the command line."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import gradproof
from gradproof.cli import main
from gradproof.derive.errors import InputError
from gradproof.derive.proof.counterexample import evaluate
from gradproof.derive.proof.lemmas import activation_lemma, loss_lemma
from gradproof.derive.symbolic.custom import kinks, parse_definitions
from gradproof.derive.symbolic.mistakes import MISTAKES

ACTIVATIONS = {"swish": "z*sigmoid(z)", "gelu": "z*(1 + erf(z/sqrt(2)))/2", "leaky": "Max(z, z/10)",
               "elu": "Piecewise((z, z > 0), (exp(z) - 1, True))"}
LOSSES = {"logcosh": "log(cosh(a - y))", "huber": "Piecewise(((a - y)**2/2, Abs(a - y) <= 1), (Abs(a - y) - 1/2, True))",
          "focal": "-(y*(1 - a)**2*log(a) + (1 - y)*a**2*log(1 - a))"}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.sampled(2)
def test_an_activation_from_an_expression_is_proven_and_checked(name):
    act = gradproof.define_activation(name, ACTIVATIONS[name])
    network = gradproof.Network.from_spec("2,3,2", act)
    proof = gradproof.prove(network)
    assert proof.ok, proof
    assert gradproof.check_gradient(gradproof.random_sample(network, seed=3)).ok
    z = np.linspace(-2, 2, 9) + 0.05  # off the kinks
    closed = sp.lambdify(sp.Symbol("z"), sp.sympify(ACTIVATIONS[name].replace("sigmoid(z)", "1/(1 + exp(-z))")),
                         modules=[{"erf": np.vectorize(__import__("math").erf)}, "numpy"])
    assert np.allclose(act.np_forward(z), closed(z), rtol=1e-13)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.sampled(2)
def test_a_loss_from_an_expression_is_proven_and_checked(name):
    loss = gradproof.define_loss(name, LOSSES[name])
    network = gradproof.Network.from_spec("2,3,2", "sigmoid", loss)
    proof = gradproof.prove(network, method="layerwise") if name == "huber" else gradproof.prove(network)
    assert [lemma.status for lemma in proof.lemmas if lemma.name.endswith(" gradient")] == ["proven"]
    if name != "huber":  # a Piecewise loss is beyond the exact decision procedure: undecided, never proven
        assert proof.ok, proof
    assert gradproof.check_gradient(gradproof.random_sample(network, seed=4)).ok
    assert loss.targets == ("unit-interval" if name == "focal" else "any")


def test_a_given_rule_is_proven_and_a_wrong_one_refused_with_a_point():
    act = gradproof.define_activation("swish_mine", "z*sigmoid(z)", "sigmoid(z)*(1 + z*(1 - sigmoid(z)))")
    assert "yours, equal to sympy.diff by simplify" in act.description
    assert gradproof.prove(gradproof.Network.from_spec("2,2,1", act)).ok
    with pytest.raises(InputError, match=r"the rule is not the derivative: at z = .* differs"):
        gradproof.define_activation("swish_wrong", "z*sigmoid(z)", "sigmoid(z)")
    assert "your rule, equal to sympy.diff by simplify" in gradproof.define_loss("lc_mine", "log(cosh(a - y))", "tanh(a - y)").description
    with pytest.raises(InputError, match="the rule is not the derivative"):
        gradproof.define_loss("lc_wrong", "log(cosh(a - y))", "sinh(a - y)")


@pytest.mark.parametrize("name, expression, rule", [
    ("neg_abs", "sqrt(z**2)", "1"), ("neg_sign", "Abs(z)", "sign(z)**2"), ("neg_max", "Max(z, -z/2)", "1"),
    ("neg_piece", "Piecewise((z**2, z > 0), (-z**3, True))", "2*z")])
def test_a_rule_wrong_only_for_negative_z_is_refused_with_a_negative_point(name, expression, rule):
    with pytest.raises(InputError, match=r"the rule is not the derivative: at z = -\d+/997"):
        gradproof.define_activation(name, expression, rule)


@pytest.mark.parametrize("name, expression, rule", [
    ("kink_max", "Max(z, 0)", "Heaviside(z, 1)"), ("kink_abs", "Abs(z)", "2*Heaviside(z) - 1"),
    ("kink_half", "Max(z, 1/2)", "Heaviside(z - 1/2, 0)")])
def test_a_rule_that_differs_only_on_a_kink_is_never_shown_a_point(name, expression, rule):
    """The points avoid kinks at simple rationals: a rule that differs only at one (where the derivative
    does not exist) gets no point where it "differs"; simplify cannot reduce the difference, so it is refused
    as a form to give otherwise (control: the rules wrong on a half-line above are shown a point)."""
    with pytest.raises(InputError, match="nor shown to differ at 122 points of either sign out to |z| = 64"):
        gradproof.define_activation(name, expression, rule)


@pytest.mark.parametrize("beyond", [1, 8, 40])
@pytest.mark.parametrize("side", [1, -1])
@pytest.mark.parametrize("name, expression, rule", [
    ("far_step", "z**2", "Piecewise((2*z, {side}*z < {beyond}), (2*z + 1, True))"),
    ("far_ramp", "tanh(z)", "1 - tanh(z)**2 + Max(0, {side}*z - {beyond})/1000"),
    ("far_power", "log(1 + z**2)", "2*z/(1 + z**2) + Max(0, Abs(z) - {beyond})**7/10**12")])
@pytest.mark.sampled(6)
def test_a_rule_wrong_only_far_from_zero_is_refused_with_the_point(name, expression, rule, beyond, side):
    """Adversarial F08: a rule right on |z| < 4 slipped past the 24 points there. Points out to |z| = 64, both
    signs, in geometric steps of 9% at most: the first one past the rule's edge refutes it, with both values."""
    rule = rule.format(side=side, beyond=beyond)
    with pytest.raises(InputError, match=r"the rule is not the derivative: at z = (-?\d+)/997") as caught:
        gradproof.define_activation(f"{name}_{beyond}_{'pn'[side < 0]}", expression, rule)
    z = sp.Rational(re.search(r"at z = (-?\d+/997)", str(caught.value)).group(1))
    assert abs(z) > beyond and (side * z > beyond if name != "far_power" else True), str(caught.value)
    assert abs(z) <= 1.1 * beyond + 4 and "both correct to 40 digits" in str(caught.value)
    # the counterexample is real: the derivative and the rule, evaluated again here with 50 digits, differ there
    variable = sp.Symbol("z")
    true = sp.N(sp.diff(sp.sympify(expression), variable).subs(variable, z), 50)
    given = sp.N(sp.sympify(rule).subs(variable, z), 50)
    assert abs(true - given) > sp.Float(10) ** -30 * max(1, abs(true))


@pytest.mark.parametrize("name, expression, rule", [
    ("far_swish", "z*sigmoid(z)", "sigmoid(z)*(1 + z*(1 - sigmoid(z)))"),
    ("far_tanh", "tanh(z)", "1/cosh(z)**2"),
    ("far_softplus", "softplus(z)", "sigmoid(z)"),
    ("far_split", "z**2", "Piecewise((2*z, z < 40), (2*z, True))"),
    ("far_logistic", "log(1 + exp(z))", "exp(z)/(1 + exp(z))")])
def test_a_right_rule_is_still_accepted(name, expression, rule):
    assert "equal to sympy.diff by simplify" in gradproof.define_activation(name, expression, rule).description


def test_a_loss_rule_wrong_only_for_large_outputs_is_refused_with_the_point():
    with pytest.raises(InputError, match=r"the rule is not the derivative: at a = \d+/997"):
        gradproof.define_loss("far_loss", "(a - y)**2/2", "Piecewise((a - y, a < 20), (a, True))")
    assert "your rule" in gradproof.define_loss("near_loss", "(a - y)**2/2", "a - y").description


def test_log_cosh_does_not_crash_the_proof_of_a_wrong_recurrence():
    network = gradproof.Network.from_spec("2,2,1", "tanh", gradproof.define_loss("logcosh", LOSSES["logcosh"]))
    proof = gradproof.prove(network, MISTAKES["missing-a-prime"].recurrence)
    assert not proof.ok and proof.refuted
    example = proof.refuted[0].counterexample
    assert example is not None and abs(float(example.direct) - float(example.claimed)) > 1e-6


def test_the_counterexample_evaluator_covers_any_function():
    x = sp.Symbol("x")
    expr = sp.log(sp.cosh(x)) + sp.Abs(x - 1) + sp.erf(x) + sp.Piecewise((x ** 2, x < 0), (sp.sinh(x), True))
    point = {x: sp.Rational(1, 3)}
    assert abs(evaluate(expr, point) - sp.N(expr.subs(point), 45)) < sp.Float(10) ** -35


def test_kinks_are_found():
    z = sp.Symbol("z", real=True)
    assert kinks(sp.Max(z, z / 10), z) == (0.0,)
    assert kinks(sp.Abs(z - 1), z) == (1.0,)
    assert kinks(z * sp.exp(z), z) == ()


def test_bad_definitions_are_input_errors():
    with pytest.raises(InputError, match="unknown name q"):
        gradproof.define_activation("bad", "z*q")
    with pytest.raises(InputError, match="does not parse"):
        gradproof.define_activation("bad", "z*(")
    with pytest.raises(InputError, match="already taken"):
        gradproof.define_activation("sigmoid", "z")
    with pytest.raises(InputError, match="no swish=… to go with it"):
        parse_definitions(["swish'=z"])


def test_the_command_line_defines_and_uses_them(tmp_path, capsys):
    assert main(["prove", "--layers", "2,3,2", "--activation", "swish=z*sigmoid(z)", "--loss",
                 "logcosh=log(cosh(a - y))"]) == 0
    assert "lemma: swish(z) = z*sigmoid(z)" in capsys.readouterr().out
    assert main(["check", "--layers", "2,3,2", "--define", "leaky=Max(z, z/10)", "--define", "gelu=" +
                 ACTIVATIONS["gelu"], "--activation", "leaky,gelu"]) == 0
    assert "gradient check passed" in capsys.readouterr().out
    assert main(["derive", "--layers", "2,2,1", "--activation", "swish=z*sigmoid(z)"]) == 0
    assert "swish(⁰z₁)" in capsys.readouterr().out
    out = tmp_path / "swish.tex"
    assert main(["latex", "--layers", "2,2,1", "--define", "swish=z*sigmoid(z)", "--define",
                 "swish'=sigmoid(z)*(1 + z*(1 - sigmoid(z)))", "--activation", "swish", "-o", str(out)]) == 0
    assert "swish" in out.read_text()
    assert main(["prove", "--activation", "swish=z*sigmoid(z)", "--define", "swish'=sigmoid(z)"]) == 2
    assert "the rule is not the derivative" in capsys.readouterr().err


def test_a_kink_is_stated_where_the_lemma_holds():
    """A loss or activation with a kink is proven off its kinks, and the lemma says so (its derivative at the
    kink is a convention); a smooth one says nothing of the kind (the control)."""
    kinked_loss = gradproof.define_loss("absdiff_kink", "sign(a - y)*(a - y)")
    smooth_loss = gradproof.define_loss("square_kink", "(a - y)**2")
    kinked_act = gradproof.define_activation("abs_kink", "Abs(z)")
    assert "kinks of" in loss_lemma(kinked_loss, 2).statement
    assert "kink" not in loss_lemma(smooth_loss, 2).statement
    statement = activation_lemma(kinked_act).statement
    assert "z ∉ {0}" in statement and "abs_kink'(0)" in statement and "relu" not in statement
