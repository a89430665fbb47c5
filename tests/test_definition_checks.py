"""One validation pass on your own definitions (derive/symbolic/well_formed.py), found by an adversarial
audit of --define, --activation and --loss: a Piecewise with a condition that is no condition ended in a
StopIteration or a TypeError deep in the proof (exit 70), ``softplus(z, z)`` in a TypeError, ``9**9**9*z``
and ``1e10000000*z`` ran for hours in sympy's parser, and ``Max()`` (E = −∞) was "proven". Each class, with
new members, is now one line and exit 2 from the command line and an InputError from Python; legitimate
definitions (the controls) still parse and prove as before."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import gradproof
from gradproof.derive.errors import InputError
from gradproof.derive.symbolic import well_formed
from gradproof.derive.symbolic.custom import ALLOWED, ARITY, A, Y, Z, define_activation, define_loss, parse
from gradproof.derive.symbolic.functions import NUMPY_FUNCTIONS, numeric_printer, sigmoid, softplus

from .bounded_runs import cli, in_a_child


CONDITION = "a Piecewise condition is a comparison"
NO_DEFAULT = "has no value where none of its conditions holds"
NOT_A_NUMBER = "is a condition, not a number"
PAIR = "is a pair \\(expression, condition\\)|is a Piecewise branch only"
LARGE = "makes numbers too large to compute with"
INFINITE = "is infinite or undefined"
COMPLEX = "is not a real number"

#: (definition, the message it gets), by class; an ``l=…`` is given to --loss, an ``f=…`` to --activation
BAD = {
    "piecewise": [("l=Piecewise((a, y))", CONDITION), ("l=Piecewise((a, a))", CONDITION),
                  ("f=Piecewise((z, z))", CONDITION), ("f=Piecewise((z, 1), (0, True))", CONDITION),
                  ("f=Piecewise((z, exp(z)), (0, True))", CONDITION),
                  ("f=Piecewise((z, z > 0))", NO_DEFAULT), ("l=Piecewise((a, a > 0), (0, y > 0))", NO_DEFAULT),
                  ("f=Piecewise((z, z > 0), (0, False))", NO_DEFAULT), ("f=Piecewise(z, z > 0)", PAIR),
                  ("f=Piecewise((z, z > 0, 1))", PAIR), ("f=Piecewise((z > 0, True))", NOT_A_NUMBER),
                  ("f=Piecewise((z, 0 < z < 1), (0, True))", "one comparison")],
    "boolean": [("f=True*z", NOT_A_NUMBER), ("f=(z > 0)*z", NOT_A_NUMBER), ("f=z > 0", NOT_A_NUMBER),
                ("l=False", NOT_A_NUMBER), ("f=Max(z, z >= 1)", NOT_A_NUMBER), ("f=(z, z)", PAIR),
                ("f=0 < z < 1", NOT_A_NUMBER)],
    "arity": [("f=softplus(z, z)", "softplus takes 1 argument, not 2"), ("f=sigmoid()", "sigmoid takes 1 argument"),
              ("f=sqrt(z, z)", "sqrt takes 1 argument, not 2"), ("f=exp(z, 2)", "exp takes 1 argument"),
              ("f=log(z, 2, 3)", "log takes 1 to 2 arguments, not 3"), ("f=Heaviside(z, 1, 2)", "Heaviside takes"),
              ("f=Max()", "Max takes at least 1 argument, not 0"), ("f=Min()*z", "Min takes at least 1 argument"),
              ("l=max()", "max takes at least 1"), ("f=Piecewise()", "Piecewise takes at least 1"),
              ("f=Abs()", "Abs takes 1 argument, not 0"), ("f=foo(z)", "foo is not a function a definition may call"),
              ("f=relu(z)", "relu is not a function"), ("f=z(1)", "z is not a function"),
              ("f=pi(z)", "pi is a number, not a function"), ("f=exp*z", "exp is a function: write exp"),
              ("f=Heaviside(z, z)", "the value at 0 .* must be a number")],
    "size": [("f=9**9**9*z", LARGE), ("f=1e10000000*z", LARGE), ("f=1e-10000000*z", LARGE), ("f=10**10**10", LARGE),
             ("f=2**2**2**2**2*z", LARGE), ("f=(2*z)**(9**9)", LARGE), ("f=(2*z)**(z - z + 9**9)", LARGE),
             ("f=exp(9**9*log(9))*z", LARGE), ("f=Max(exp(exp(exp(100))), 1)*z", LARGE),
             ("f=exp(exp(exp(100)))*z", LARGE), ("f=sinh(10**6)*z", LARGE), ("l=E**(10**7)*(a - y)", LARGE),
             ("f=" + "9" * 1500 + "*z", "more than 1000 digits"),
             ("f=0." + "0" * 1200 + "1*z", "more than 1000 digits"),
             ("f=1e1" + "0" * 1100 + "*z", "more than 1000 digits"), ("f=10**400*z", "beyond float64's range")],
    "infinite": [("f=1/0", INFINITE), ("f=0/0", INFINITE), ("f=z/0", INFINITE), ("f=log(0)*z", INFINITE),
                 ("f=0**-1*z", INFINITE), ("f=z/(z - z)", INFINITE),
                 ("l=(a - y)**2/(y - y)", INFINITE), ("f=oo*z", "unknown name oo"), ("f=zoo", "unknown name zoo"),
                 ("f=nan*z", "unknown name nan"), ("f=1/(1/0)*z", INFINITE),      # a zoo sympy makes vanish (0)
                 ("f=0*log(0) + z", INFINITE), ("f=Max(z, 1/0)", INFINITE),
                 ("f=Piecewise((z, z > 0/0), (0, True))", INFINITE),
                 ("f=log(z, 0)", "the base of a log is positive and not 1"), ("f=log(z, 1)", "the base of a log")],
    "complex": [("f=I*z", "unknown name I"), ("f=sqrt(-1)*z", COMPLEX), ("f=(-1)**(1/3)*z", COMPLEX),
                ("f=log(-2)*z", COMPLEX), ("l=(a - y)**2*sqrt(-4)", COMPLEX), ("f=z + (-8)**(1/3)", COMPLEX),
                ("f=0*sqrt(-1) + z", COMPLEX), ("f=Piecewise((z, z > sqrt(-1)), (0, True))", COMPLEX),
                ("f=log(z, -2)", "the base of a log")],
    "names": [("f=q*z", "unknown name q"), ("f=a*z", "unknown name a"), ("l=z*a", "unknown name z"),
              ("f=Piecewise((z, a > 0), (0, True))", "unknown name a")],
}
CASES = [pytest.param(text, message, id=f"{kind}:{text[:40]}") for kind, cases in BAD.items()
         for text, message in cases]

#: legitimate definitions: each is proven on 2,2,1
GOOD = ["elu_ok=Piecewise((z, z > 0), (exp(z) - 1, True))", "softplus_ok=softplus(z)", "cube_ok=z**3",
        "scaled_ok=2**10*z", "leaky_ok=Max(z, z/10)", "step_ok=Heaviside(z, 1)*z", "gauss_ok=exp(-z**2/(2*0.01**2))",
        "base_ok=log(z, 2)", "huge_ok=10**300*z + 1e-300", "tiny_ok=1e-400*z", "root_ok=exp(log(1 + z**2)/2)",
        "half_loss=0.5*(a - y)**2", "pow_loss=(a - y)**100", "only_y_loss=y**2 + a"]
#: beyond the exact decision procedure (undecided there, never proven: tests/test_custom_definitions.py):
#: the numeric check passes it
HUBER = "huber_loss=Piecewise(((a - y)**2/2, Abs(a - y) <= 1), (Abs(a - y) - 1/2, True))"


def _options(text: str) -> list[str]:
    name = text.partition("=")[0]
    return ["--define", text, "--loss" if name == "l" or name.endswith("_loss") else "--activation", name]


def _define(text: str):
    name, _, body = text.partition("=")
    return (define_loss if _options(text)[2] == "--loss" else define_activation)(name, body)


@pytest.mark.parametrize("text, message", CASES)
@pytest.mark.sampled(20)
def test_the_command_line_says_what_is_wrong_in_one_line(text, message):
    status, out, err = in_a_child(lambda: cli(["prove", "--layers", "2,2,1", *_options(text)]))
    assert status == 2, (out, err)
    assert len(err.splitlines()) == 1 and err.startswith("gradproof: error: "), err
    assert "Traceback" not in err and "internal error" not in err and out == ""
    assert re.search(message, err), err


@pytest.mark.parametrize("text, message", CASES)
@pytest.mark.sampled(20)
def test_python_gets_an_input_error_naming_the_problem(text, message):
    answer = in_a_child(lambda: _error_of(lambda: _define(text)))
    assert answer.startswith("InputError: "), answer
    assert re.search(message, answer), answer


def _error_of(task) -> str:
    try:
        task()
    except InputError as error:
        return f"InputError: {error}"
    return "no error"


@pytest.mark.parametrize("text, message", [BAD["piecewise"][0], BAD["size"][0], BAD["arity"][0], BAD["infinite"][0]])
def test_json_says_it_too(text, message):
    status, out, err = in_a_child(lambda: cli(["check", "--json", "--layers", "2,2,1", *_options(text)]))
    answer = json.loads(out)
    assert status == 2 and answer["ok"] is False and re.search(message, answer["error"])
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("arguments, message", [
    (["--define", "g=z**2", "--define", "f=g(z)", "--activation", "f"], "g is not a function a definition may call"),
    (["--activation", "f=a"], "unknown name a"),                 # was: unknown activation Loss(name='f', …)
    (["--define", "f=2*y", "--activation", "f"], "unknown name y"),
    (["--activation", "l=z", "--loss", "l"], "named by both --activation and --loss")])
def test_names_given_to_activation_are_activations(arguments, message):
    status, out, err = cli(["prove", "--layers", "2,2,1", *arguments])
    assert status == 2 and message in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("text", GOOD, ids=[text.partition("=")[0] for text in GOOD])
@pytest.mark.sampled(5)
def test_legitimate_definitions_still_prove(text):
    """The controls: each passes the checks and is proven, from the command line and from Python."""
    assert cli(["prove", "--layers", "2,2,1", *_options(text)])[0] == 0
    definition = _define(text)
    network = (gradproof.Network.from_spec("2,2,1", "sigmoid", definition) if _options(text)[2] == "--loss"
               else gradproof.Network.from_spec("2,2,1", definition))
    assert gradproof.prove(network).ok


def test_the_huber_loss_still_checks():
    status, out, _ = cli(["check", "--layers", "2,2,1", *_options(HUBER)])
    assert status == 0 and "passed" in out


Z_PLAIN = sp.Symbol("z")


@pytest.mark.parametrize("expression, message", [
    (sp.Max(), INFINITE), (sp.Min() * Z, INFINITE), (sp.oo * Z, INFINITE), (sp.zoo + Z, INFINITE),
    (sp.nan * Z, INFINITE), (Z / sp.Integer(0), INFINITE), (sp.I * Z, COMPLEX), (sp.sqrt(-2) * Z, COMPLEX),
    (sp.Piecewise((Z, Z > 0)), NO_DEFAULT), (sp.Piecewise((Z, Z > 0), (0, Z < -1)), NO_DEFAULT),
    (sp.Piecewise((Z, sp.And(Z > 0, sp.Symbol("b"))), (0, True)), "unknown name b"),
    (sp.Heaviside(Z, Z), "must be a number"), (sp.Float("1e100000") * Z, LARGE),
    (sp.Float("1e-100000") * Z, LARGE), (sp.exp(sp.exp(sp.exp(100))) * Z, LARGE),
    (sp.Integer(3) ** 3000 * Z, LARGE), (sp.Float("1e400") * Z, "beyond float64's range"),
    (sp.Symbol("q") * Z, "unknown name q"), (sp.Symbol("z", positive=True) ** 2, "carries assumptions of its own"),
    (sp.true, "is not an expression"), (sp.Tuple(Z, Z), "is not an expression"), ("z > 0", NOT_A_NUMBER),
    (float("inf"), INFINITE), (float("nan"), INFINITE)])
def test_a_sympy_expression_from_python_is_checked_the_same_way(expression, message):
    with pytest.raises(InputError, match=message):
        define_activation("from_python", expression)


def test_a_piecewise_condition_from_python_is_a_condition():
    with pytest.raises(InputError, match="is not a condition"):
        define_loss("symbol_condition", sp.Piecewise((A, sp.And(A > 0, Y)), (0, True)))
    assert define_loss("genuine_condition", sp.Piecewise((A, sp.And(A > 0, Y > 0)), (0, True)))  # the control


def test_arity_is_the_functions_own():
    """sigmoid, softplus and an activation you define take one argument, as sympy's exp does."""
    for function in (sigmoid, softplus, define_activation("one_argument", "z**2").symbolic.function):
        with pytest.raises(TypeError):
            function(Z, Z)
        assert function(Z).args == (Z,)                                      # the control
    assert set(ARITY) | {"pi", "E"} == set(ALLOWED)


def test_a_plain_symbol_from_python_is_the_real_variable():
    """A plain sympy.Symbol("z") had been a name of its own: d/dz of z² was 0 against the real z."""
    square = define_activation("plain_square", Z_PLAIN ** 2)
    assert "plain_square' = 2*z" in square.description
    assert gradproof.prove(gradproof.Network.from_spec("2,2,1", square)).ok
    assert "a*y" in define_loss("plain_loss", sp.Symbol("a") * sp.Symbol("y")).description


def test_numbers_numpy_cannot_take_as_they_are_print_as_floats():
    """sin(10**20): numpy's ufuncs take no int beyond int64; 10**400/3 overflows in int/int."""
    printer = numeric_printer()
    assert printer.doprint(sp.Integer(12)) == "12" and printer.doprint(sp.Rational(1, 3)) == "1/3"
    for number in (sp.Integer(10) ** 20, sp.Integer(3) ** 200, sp.Integer(10) ** 400 / 3, sp.Rational(1, 10 ** 400)):
        assert float(eval(printer.doprint(number))) == float(sp.Float(number, 17))
    x = sp.Symbol("x")
    compiled = sp.lambdify(x, sp.sin(sp.Integer(10) ** 20) * x, modules=[NUMPY_FUNCTIONS, "numpy"], printer=printer)
    assert math.isclose(compiled(np.ones(2))[0], math.sin(1e20), rel_tol=1e-12)
    plain = sp.lambdify(x, sp.sin(sp.Integer(10) ** 20) * x, modules=[NUMPY_FUNCTIONS, "numpy"])
    with pytest.raises(TypeError):                                            # the control: lambdify's own printer
        plain(np.ones(2))


@pytest.mark.parametrize("arguments", [["--layers", "2,2,1", "--define", "f=sin(10**20)*z", "--activation", "f"],
                                       ["--layers", "2,2,1", "--define", "f=z**(10**300)", "--activation", "f"],
                                       ["--layers", ",".join(["1"] * 17), "--define", "f=10**20*sigmoid(z)",
                                        "--activation", "f"]])
def test_large_exact_numbers_get_a_verdict_in_the_numeric_check(arguments):
    """Each ended as an internal error: a ufunc given sin(10**20)'s int; the chain rule's product of
    coefficients past float64 (10**600) given to float()."""
    status, _, err = cli(["check", *arguments])
    assert status in (0, 1) and "internal error" not in err, err


_LEAVES = st.one_of(st.integers(2, 10 ** 6).map(str),
                    st.sampled_from(["0", "1", "0.5", "1.25", "1e-3", "37.5e2", "z", "pi"]))


def _expressions():
    def extend(inner):
        pairs = st.tuples(inner, inner)
        return st.one_of(pairs.map(lambda p: f"({p[0]} + {p[1]})"), pairs.map(lambda p: f"({p[0]} - {p[1]})"),
                         pairs.map(lambda p: f"({p[0]} * {p[1]})"), pairs.map(lambda p: f"({p[0]} / {p[1]})"),
                         st.tuples(inner, st.integers(-12, 12)).map(lambda p: f"({p[0]})**{p[1]}"),
                         inner.map(lambda e: f"exp(log({e})*3)"), pairs.map(lambda p: f"Max({p[0]}, {p[1]})"))
    return st.recursive(_LEAVES, extend, max_leaves=10)


@given(_expressions())
def test_the_size_bound_is_never_below_the_exact_numbers_sympy_makes(text):
    """Soundness of the bound that keeps 9**9**9 out of sympy's parser: with the limit set just below the
    largest numerator or denominator sympy actually computes from the text, the text is refused."""
    _bound_is_sound(text)


def test_the_soundness_property_can_fail(monkeypatch):
    """The control: a bound that forgets what a power does lets (12)**12 (13 digits) through."""
    monkeypatch.setattr(well_formed, "_times", lambda scale, power: scale)
    with pytest.raises(pytest.fail.Exception):
        _bound_is_sound("(12)**12")


def _bound_is_sound(text: str) -> None:
    try:
        expr = parse(text, {"z": Z}, "t")
    except InputError:   # infinite (1/0) or too large already: nothing to compare
        return
    digits = max([len(str(abs(n.p))) - 1 for n in expr.atoms(sp.Rational)] +
                 [len(str(n.q)) - 1 for n in expr.atoms(sp.Rational)] + [0])
    limit = well_formed.MAX_DIGITS
    try:
        well_formed.MAX_DIGITS = digits - 1
        with pytest.raises(InputError, match=LARGE):
            well_formed.check_text(text, ARITY, "t")
    finally:
        well_formed.MAX_DIGITS = limit
