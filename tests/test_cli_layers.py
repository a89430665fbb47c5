"""gradproof check-layer and check-layers: the verdicts, the exit statuses, --json, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.cli import main
from gradproof.numeric.layers.arguments import parse_value
from gradproof.numeric.layers.examples import EXAMPLES, example_name

ZOO = Path(__file__).parent / "zoo"
COURSE = str(ZOO / "course_layers.py")
LAYERS = str(ZOO / "layers.py")
CONV_ARGS = ["--arg", "x=randn:2,3,7,7", "--arg", "w=randn:4,3,3,3", "--arg", "b=randn:4",
             "--arg", 'conv_param={"stride": 2, "pad": 1}']


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.deferred
def test_check_layers_reports_every_function_of_the_student_module(capsys):
    status, out, err = run(["check-layers", COURSE], capsys)
    assert status == 1 and "Traceback" not in out + err
    lines = {line.split()[0]: line for line in out.splitlines()[1:15]}
    assert set(lines) == {"affine", "relu", "affine_relu", "sigmoid", "softmax_loss", "tanh", "dropout", "batchnorm",
                          "avg_pool", "max_pool", "leaky_relu", "elu", "swish", "gaussian_noise"}
    assert "agree" in lines["affine"] and "NOT IMPLEMENTED" in lines["tanh"] and "`pass`" in lines["tanh"]
    assert "no return statement" in lines["dropout"] and "NotImplementedError" in lines["batchnorm"]
    assert "all zeros" in lines["avg_pool"] and "xrange" in lines["max_pool"] and "ERROR" in lines["leaky_relu"]
    assert "swish_forward (3, 4)" not in out  # the student's prints stay off stdout


def test_check_layers_with_a_spec_file_and_json(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"gaussian_noise": {"x": "randn:3,4", "noise_param": {"std": 0.1, "mode": "test"}},
                                "elu": {"args": {"x": "away:3,4", "alpha": 1.0}}}))
    status, out, _ = run(["check-layers", COURSE, "--spec", str(spec), "--only", "gaussian_noise,elu", "--json"],
                         capsys)
    data = json.loads(out)
    assert status == 0 and data["ok"] and [layer["name"] for layer in data["layers"]] == ["elu", "gaussian_noise"]
    assert data["counts"] == {"agree": 2}


@pytest.mark.deferred
def test_check_layers_on_the_whole_zoo_agrees_where_it_has_arguments(capsys):
    status, out, _ = run(["check-layers", LAYERS], capsys)
    assert "25 agree, 1 undecidable" in out and "DIFFER" not in out and "no arguments: 'linear_sum'" in out


def test_check_layer_with_arguments_and_with_built_in_examples(capsys):
    status, out, _ = run(["check-layer", f"{LAYERS}:conv_naive", *CONV_ARGS], capsys)
    assert status == 0 and out.startswith("conv_naive: agree")
    status, out, _ = run(["check-layer", f"{LAYERS}:lstm_step", "--json"], capsys)
    assert status == 0 and json.loads(out)["status"] == "agree"


def test_check_layer_on_a_wrong_backward_names_the_gradient_and_exits_1(tmp_path, capsys):
    mine = tmp_path / "mine.py"
    mine.write_text("import numpy as np\n\n"
                    "def affine_forward(x, w, b):\n    return x @ w + b, (x, w)\n\n"
                    "def affine_backward(dout, cache):\n    x, w = cache\n"
                    "    return dout @ w.T, x.T @ dout, dout.mean(axis=0)\n")
    status, out, _ = run(["check-layer", f"{mine}:affine", "--arg", "x=randn:4,3", "--arg", "w=randn:3,2",
                          "--arg", "b=randn:2"], capsys)
    assert status == 1 and out.startswith("affine: DIFFER: db is wrong") and "divided by N = 4" in out
    status, out, _ = run(["check-layer", f"{mine}:affine_forward", "--backward", "affine_backward", "--arg",
                          "x=randn:4,3", "--arg", "w=randn:3,2", "--arg", "b=randn:2", "--json"], capsys)
    assert status == 1 and json.loads(out)["wrong"] == ["db"]


@pytest.mark.parametrize("argv, message", [
    (["check-layer", "nope.py:affine"], "no file 'nope.py'"),
    (["check-layer", f"{LAYERS}"], "write FILE.py:NAME"),
    (["check-layer", f"{LAYERS}:nope"], "has no 'nope'"),
    (["check-layer", f"{LAYERS}:conv_naive", "--arg", "x=randn:2,3"], "no value for w, b, conv_param"),
    (["check-layer", f"{LAYERS}:conv_naive", "--arg", "q=randn:2"], "no parameter 'q'"),
    (["check-layer", f"{LAYERS}:relu", "--arg", "x=randn:2,x"], "not whole numbers"),
    (["check-layer", f"{LAYERS}:relu", "--arg", "x={bad"], "looks like JSON"),
    (["check-layer", f"{LAYERS}:linear_sum"], "no example arguments for 'linear_sum'"),
    (["check-layers", "nope.py"], "no file 'nope.py'"),
    (["check-layers", LAYERS, "--spec", "nope.json"], "--spec: no file"),
    (["check-layer", f"{LAYERS}:relu", "--budget", "0"], "budget must be a positive number"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    status, out, err = run(argv + ["--json"], capsys)
    assert status == 2 and message in err and "Traceback" not in err
    assert json.loads(out)["ok"] is False


def test_a_module_that_fails_to_import_is_bad_input(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import numpy as np\nprint 'python 2'\n")
    status, _, err = run(["check-layers", str(broken)], capsys)
    assert status == 2 and "failed to import" in err and "SyntaxError" in err
    exiting = tmp_path / "exiting.py"
    exiting.write_text("import sys\nsys.exit(0)\n")
    status, _, err = run(["check-layers", str(exiting)], capsys)
    assert status == 2 and "sys.exit" in err


def test_the_spec_language():
    import numpy as np

    rng = np.random.default_rng(0)
    assert parse_value("randn:2,3", rng).shape == (2, 3)
    assert parse_value("randint:5:high=3", rng).dtype.kind == "i" and parse_value("randint:5:high=3", rng).max() < 3
    assert parse_value("mask:4", rng).dtype == bool
    assert parse_value('{"stride": 1}', rng) == {"stride": 1}
    assert parse_value("[0, 2, 1]", rng).dtype.kind == "i" and parse_value("[0.5, 1]", rng).dtype.kind == "f"
    assert parse_value("train", rng) == "train" and parse_value("0.1", rng) == 0.1
    distinct = parse_value("distinct:3,4", rng)
    assert len(np.unique(distinct)) == 12


def test_every_common_name_of_the_issue_has_examples():
    names = ["affine", "relu", "batchnorm", "layernorm", "dropout", "conv", "max_pool", "spatial_batchnorm",
             "spatial_groupnorm", "softmax_loss", "svm_loss", "rnn_step", "rnn", "word_embedding", "lstm_step",
             "lstm", "temporal_affine", "temporal_softmax_loss"]
    assert all(name in EXAMPLES for name in names)
    assert example_name("conv_naive") == "conv" and example_name("max_pool_fast") == "max_pool"
    assert example_name("conv_relu_pool") == "conv_relu_pool" and example_name("softmax") is None


def test_the_command_runs_as_a_program():
    done = subprocess.run([sys.executable, "-m", "gradproof", "check-layer", f"{LAYERS}:relu"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("relu: agree")


@pytest.mark.parametrize("body, status, expected", [
    ("def exp32_forward(x):\n    return np.exp(x), x\n\n"
     "def exp32_backward(dout, x):\n    return (dout * np.exp(x)).astype(np.float32)\n", 0, "agree"),
    ("def exp32_forward(x):\n    return np.exp(x), x\n\n"
     "def exp32_backward(dout, x):\n    return (dout * np.exp(x) * (1 + 1e-4)).astype(np.float32)\n", 1, "DIFFER"),
    ("def exp32_forward(x):\n    return x * 1e300, x\n\n"
     "def exp32_backward(dout, x):\n    return dout * 1e300\n", 0, "agree"),
    ("def exp32_forward(x):\n    return x * 1e-200, x\n\n"
     "def exp32_backward(dout, x):\n    return dout * 3e-200\n", 1, "DIFFER"),
])
def test_check_layer_float32_and_extreme_scales_on_the_command_line(body, status, expected, tmp_path, capsys):
    """adv19 F02 and F06 as the command line shows them: a float32 dx computed exactly agrees (1e-4 relative
    off differs), outputs near 1e300 agree, 1e-200 with a factor 3 differs; no numpy warning on stderr, no
    "1 times the derivative", no blame for imaginary parts the complex step did not lose."""
    mine = tmp_path / "mine.py"
    mine.write_text("import numpy as np\n\n" + body)
    code, out, err = run(["check-layer", f"{mine}:exp32", "--arg", "x=randn:3,4"], capsys)
    assert code == status and out.startswith(f"exp32: {expected}"), out + err
    assert "warning" not in err and " 1 times" not in out and "loses imaginary parts" not in out, out + err


PAIRED = ("import numpy as np\n\n"
          "def double_forward(x):\n    return 2 * x, None\n\n"
          "def double_backward(dout, cache):\n    return 2 * dout\n\n"
          "def wrong_backward(dout, cache):\n    return 3 * dout\n\n"
          "def right_backward(dout, cache):\n    return dout + dout\n\n"
          "def double_loss(x, y):\n    return float(np.sum(x * y)), y\n\n"
          "class Scale:\n    def forward(self, x):\n        return 2 * x\n"
          "    def backward(self, dout):\n        return 2 * dout\n")


@pytest.mark.parametrize("verb", ["check-layer", "prove-layer"])
@pytest.mark.parametrize("name", ["double", "double_forward"])
def test_a_backward_given_by_name_is_the_one_checked_whichever_way_the_layer_is_named(verb, name, tmp_path, capsys):
    (tmp_path / "paired.py").write_text(PAIRED)   # adversarial round 21: by its stem, --backward was ignored
    layer = f"{tmp_path / 'paired.py'}:{name}"
    wrong, out, _ = run([verb, layer, "--backward", "wrong_backward", "--arg", "x=randn:4"], capsys)
    assert wrong == 1 and ("DIFFER" in out or "REFUTED: the backward is not the derivative" in out), out
    right, out, _ = run([verb, layer, "--backward", "right_backward", "--arg", "x=randn:4"], capsys)
    assert right == 0, out


@pytest.mark.parametrize("name, says", [("Scale", "is a class, which brings its own backward"),
                                        ("double_loss", None), ("double", None)])
def test_a_backward_that_would_be_ignored_is_bad_input(name, says, tmp_path, capsys):
    (tmp_path / "paired.py").write_text(PAIRED)
    status, out, err = run(["check-layer", f"{tmp_path / 'paired.py'}:{name}", "--backward", "no_such_function",
                            "--arg", "x=randn:4"], capsys)
    assert status == 2 and "no function 'no_such_function'" in err and "Traceback" not in out + err
    if says:
        status, _, err = run(["check-layer", f"{tmp_path / 'paired.py'}:{name}", "--backward", "right_backward",
                              "--arg", "x=randn:4"], capsys)
        assert status == 2 and says in err


def test_init_for_a_function_is_bad_input_never_ignored(tmp_path, capsys):
    (tmp_path / "paired.py").write_text(PAIRED)
    status, out, err = run(["check-layer", f"{tmp_path / 'paired.py'}:double", "--init", "a=1", "--arg", "x=randn:4"],
                           capsys)
    assert status == 2 and "double is not a class: leave --init out" in err and not out
    status, _, _ = run(["check-layer", f"{tmp_path / 'paired.py'}:double", "--arg", "x=randn:4"], capsys)
    assert status == 0
