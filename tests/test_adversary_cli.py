"""Found by the adversarial tester: bad argument specs for check-layer ended as internal errors (exit 70,
numpy's own message) or were silently ignored (a misspelt option); `gradproof check --help` promised exit
status 3 for "cannot decide", which exits 1."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradproof
from gradproof.derive.errors import InputError
from gradproof.numeric.layers.arguments import parse_value

LAYERS = Path(__file__).resolve().parents[1] / "examples" / "my_layers.py"

BAD = {"randint:4,2:high=0": "high must be a whole number", "randint:4,2:high=nan": "not a finite number",
       "randint:4,2:high=1e30": "high must be a whole number", "randint:4:high=2.5": "high must be a whole number",
       "uniform:4,2:low=2,high=1": "low ≤ high", "mask:4,2:p=2": "a probability", "mask:3:p=-0.5": "a probability",
       "randn:4,2:scale=inf": "not a finite number", "randn:4,2:scal=2": "no option 'scal'",
       "rand:4:scale=2": "takes no options", "away:3:gap=nan": "not a finite number"}
GOOD = ["randint:4,2:high=1", "uniform:4,2:low=1,high=1", "mask:4,2:p=0", "mask:4:p=1", "randn:3:scale=0",
        "away:3:gap=0.1", "distinct:2,3:scale=0.5", "randint:5:high=4"]


@pytest.mark.parametrize("spec", sorted(BAD))
def test_a_bad_spec_is_one_clear_line(spec):
    with pytest.raises(InputError, match=BAD[spec]):
        parse_value(spec, np.random.default_rng(0), "--arg x")


@pytest.mark.parametrize("spec", GOOD)
def test_a_good_spec_draws(spec):
    """The negative control: the edges of each range are accepted."""
    value = parse_value(spec, np.random.default_rng(0), "--arg x")
    assert isinstance(value, np.ndarray) and value.size


@pytest.mark.parametrize("spec", ["randint:4,2:high=0", "uniform:4,2:low=2,high=1", "randint:5:high=nan"])
def test_the_command_line_exits_2(spec):
    run = subprocess.run([sys.executable, "-m", "gradproof", "check-layer", f"{LAYERS}:affine",
                          "--arg", f"x={spec}", "--arg", "w=randn:2,5", "--arg", "b=randn:5"],
                         capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "internal error" not in run.stderr


def test_check_help_states_the_exit_status_it_uses():
    run = subprocess.run([sys.executable, "-m", "gradproof", "check", "--help"], capture_output=True, text=True)
    text = " ".join(run.stdout.split())
    assert "3: the check cannot decide" not in text
    assert "1: a mismatch, or the check cannot decide" in text
    undecided = subprocess.run([sys.executable, "-m", "gradproof", "check", "--method", "central", "--step", "1e-16"],
                               capture_output=True, text=True)
    assert undecided.returncode == 1 and "cannot decide" in undecided.stdout


@pytest.mark.parametrize("network, status", [(["--layers", "2,1", "--activation", "softmax", "--loss", "softmax-ce"], 2),
                                             (["--layers", "2,3,2", "--define", "c=1", "--activation", "c"], 2),
                                             (["--layers", "2,2", "--activation", "tanh"], 0)])
@pytest.mark.deferred
def test_plot_error_vs_step_of_a_gradient_that_is_zero_everywhere(tmp_path, network, status):
    """A one-output softmax (E = 0 whatever the weights) divided the errors by a zero scale: internal error."""
    pytest.importorskip("matplotlib")
    run = subprocess.run([sys.executable, "-m", "gradproof", "plot", "error-vs-step", *network, "-o",
                          str(tmp_path / "p.png")], capture_output=True, text=True)
    assert run.returncode == status, run.stderr
    assert "internal error" not in run.stderr
    if status:
        assert "no relative error to plot" in run.stderr


RAW_WRITER = '''
import os
import numpy as np
os.write(1, b"raw at import\\n")


def double_forward(x):
    os.write(1, b"raw in forward\\n")
    return 2 * x, x


def double_backward(dout, cache):
    os.write(1, b"raw in backward\\n")
    return 2 * dout
'''


@pytest.mark.parametrize("verb", [["check-layer", "{path}:double", "--arg", "x=randn:3"],
                                  ["check-layers", "{path}", "--spec", "{spec}"],
                                  ["prove-layer", "{path}:double", "--arg", "x=randn:3"]])
@pytest.mark.sampled(1)
def test_raw_writes_to_descriptor_1_in_layer_code_stay_off_the_json(tmp_path, verb):
    """check-layer runs your code in its own process; a print was kept off stdout, but os.write(1, …) (or a C
    extension's output) went into the --json answer and broke it."""
    path, spec = tmp_path / "raw.py", tmp_path / "spec.json"
    path.write_text(RAW_WRITER)
    spec.write_text('{"double": {"x": "randn:3"}}')
    command = [part.format(path=path, spec=spec) for part in verb]
    run = subprocess.run([sys.executable, "-m", "gradproof", "--json", *command], capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    answer = json.loads(run.stdout)          # exactly one JSON object
    assert answer["ok"] is True
    assert "raw in forward" in run.stderr and "raw at import" in run.stderr


@pytest.mark.parametrize("outputs, status", [("-1", 2), ("0", 2), ("1", 0)])
@pytest.mark.sampled(1)
def test_outputs_below_one_is_bad_input(outputs, status):
    """--outputs -1 was reported as the layer's ERROR (exit 1), as if the user's code had failed."""
    run = subprocess.run([sys.executable, "-m", "gradproof", "check-layer", f"{LAYERS}:affine", "--arg", "x=randn:4,2",
                          "--arg", "w=randn:2,5", "--arg", "b=randn:5", "--outputs", outputs],
                         capture_output=True, text=True)
    assert run.returncode == status, run.stderr


@pytest.mark.parametrize("verb", [["check"], ["check", "--quick"], ["gradient", "--json"]])
def test_a_convolution_as_the_output_layer_is_refused_by_the_numeric_half(verb):
    """`--layers 1x4x4,conv2k3` (no dense layer after the convolution) crashed the numeric half (the loss
    broadcast a map against the target: internal error)."""
    run = subprocess.run([sys.executable, "-m", "gradproof", *verb, "--layers", "1x4x4,conv2k3"],
                         capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "output layer is symbolic only" in run.stderr and "internal error" not in run.stderr


def test_a_convolution_as_the_output_layer_in_python():

    network = gradproof.Network.from_spec("1x4x4,conv2k3")
    with pytest.raises(InputError, match="output layer is symbolic only"):
        gradproof.random_sample(network)
    with pytest.raises(InputError, match="output layer is symbolic only"):
        gradproof.make_sample(network, [np.zeros(s) for s in network.shapes], np.zeros(16), np.zeros(8))
    # the control: with a dense output layer it is checked
    assert gradproof.check_gradient(gradproof.random_sample(gradproof.Network.from_spec("1x4x4,conv2k3,3"))).ok
