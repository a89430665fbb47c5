"""Adversarial round 21, F06: `--arg` input that is not what the README's grammar says became a value the user
did not mean — a parameter given twice took the last value, `b=nan` was the word 'nan' handed to the forward,
`x=[[1e400]]` was inf — and ended as the layer's ERROR (exit 1). Every such spec is now bad input: exit 2 and
one line. The controls: every form the grammar names still gives its value."""

import json
from pathlib import Path

import numpy as np
import pytest

from gradproof.derive.errors import InputError
from gradproof.numeric.layers.arguments import named_arguments, parse_value
from tests.bounded_runs import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AFFINE = f"{EXAMPLES / 'my_layers.py'}:affine"

BAD = {
    "": "no value",
    "nan": "not a finite number", "NaN": "not a finite number", "-inf": "not a finite number",
    "Infinity": "not a finite number", "1e400": "beyond float64's range", "[[1e400]]": "beyond float64's range",
    "[1, NaN]": "not a finite number", '{"eps": Infinity}': "not a finite number",
    '{"stride": 1, "stride": 2}': "'stride' is given twice",
    "randn": "randn needs what follows a colon", "ones": "ones needs what follows a colon",
    "npy": "npy:FILE.npy", "randm:3": "unknown kind 'randm'",
    ".5": "as JSON does: 0.5", "+1": "as JSON does: 1", "1_000": "as JSON does: 1000", "5.": "as JSON does: 5.0",
    "True": "as JSON does: true", "None": "as JSON does: null", "0x10": "neither KIND:SHAPE",
    "./data": "neither KIND:SHAPE", "randn:2,,3": "not whole numbers", "randn:4,": "not whole numbers",
    "randn:3:scale=1,scale=2": "option scale is given twice",
    "randn:300:scale=1e308": "beyond float64's range", "uniform:3:low=-1e308,high=1e308": "beyond float64's range",
    "distinct:3:scale=0": "ties", "away:3:gap=-1": "gap must be ≥ 0",
    "[true, 2]": "mixes booleans", "[[true], [0.5]]": "mixes booleans", "[]": "no entries", "[[]]": "no entries",
}

GOOD = {"train": "train", "_mode": "_mode", "0.5": 0.5, "-3": -3, "1e-5": 1e-5, "true": True, "null": None,
        '"./data"': "./data", '"nan"': "nan", '{"eps": 1e-5, "mode": "train"}': {"eps": 1e-5, "mode": "train"}}


@pytest.mark.parametrize("spec", sorted(BAD))
def test_a_spec_outside_the_grammar_is_one_clear_line(spec):
    with pytest.raises(InputError, match=BAD[spec].replace("+", r"\+").replace(".", r"\.")) as error:
        parse_value(spec, np.random.default_rng(0), "--arg x")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("spec", sorted(GOOD))
def test_what_the_grammar_names_is_still_its_value(spec):
    value = parse_value(spec, np.random.default_rng(0), "--arg x")
    assert value == GOOD[spec] and type(value) is type(GOOD[spec])


def test_arrays_the_grammar_names():
    rng = np.random.default_rng(0)
    zero_d = parse_value("randn:", rng)
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == ()       # a 0-d array, not a numpy scalar
    assert parse_value("[true, false]", rng).dtype == bool and parse_value("[1, 2]", rng).dtype.kind == "i"
    assert np.all(np.isfinite(parse_value("randn:3:scale=1e300", rng)))
    assert parse_value("randn:2, 3", rng).shape == (2, 3)


def test_an_npy_file_holding_nan_is_bad_input(tmp_path):
    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, np.ones((2, 2)))
    np.save(bad, np.array([[1.0, np.inf]]))
    assert parse_value(f"npy:{good}", np.random.default_rng(0)).shape == (2, 2)
    with pytest.raises(InputError, match=r"holds inf at \(0, 1\)"):
        parse_value(f"npy:{bad}", np.random.default_rng(0), "--arg x")


def test_a_parameter_given_twice_is_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match=r"--arg x is given twice \('randn:2' and 'randn:3'\)"):
        named_arguments(["x=randn:2", "y=randn:2", "x=randn:3"], ["x", "y"], rng)
    assert [a.shape for a in named_arguments(["x=randn:2", "y=randn:3"], ["x", "y"], rng)] == [(2,), (3,)]


@pytest.mark.parametrize("arguments, expected", [
    (["x=randn:4,2,3", "w=randn:6,5", "b=randn:5", "x=randn:1"], "--arg x is given twice"),
    (["x=randn:4,2,3", "w=randn:6,5", "b=nan"], "--arg b: nan is not a finite number"),
    (["x=[[1e400]]", "w=randn:1,5", "b=randn:5"], "--arg x: 1e400 is beyond float64's range"),
    (["x=randn:4,2,3", "w=randn:6,5", "b=ones"], "--arg b: ones needs what follows a colon"),
])
def test_the_adversarys_command_lines_exit_2_with_one_line(arguments, expected):
    status, out, err = cli(["check-layer", AFFINE, *[item for a in arguments for item in ("--arg", a)]])
    lines = err.strip().splitlines()
    assert status == 2 and out == "", out
    assert len(lines) == 1 and lines[0].startswith(f"gradproof: error: {expected}"), err


def test_the_same_arguments_written_right_agree():
    """The control for the command lines above."""
    status, out, _ = cli(["check-layer", AFFINE, "--arg", "x=randn:4,2,3", "--arg", "w=randn:6,5", "--arg",
                          "b=randn:5"])
    assert status == 0 and out.startswith("affine: agree"), out


@pytest.mark.parametrize("text, expected", [('{"affine": {"x": "randn:4,2,3", "w": "randn:6,5", "b": NaN}}',
                                             "not a finite number"),
                                            ('{"affine": {"x": "randn:4,2,3", "x": "randn:1"}}', "given twice")])
def test_a_spec_file_is_read_by_the_same_strict_json(tmp_path, text, expected):
    spec = tmp_path / "spec.json"
    spec.write_text(text)
    status, _, err = cli(["check-layers", str(EXAMPLES / "my_layers.py"), "--spec", str(spec), "--only", "affine"])
    assert status == 2 and expected in err and len(err.strip().splitlines()) == 1, err
    json.loads(text.replace("NaN", "1.0"))  # the control: as JSON it parses (the strict reading refuses it)
