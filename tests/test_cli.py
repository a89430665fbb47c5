"""The command line is a contract: output, JSON fields and exit statuses (0 ok, 1 failed, 2 bad input)."""

import json
import os
import subprocess
import sys

import pytest

from gradproof.cli import main


def run(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_main_job_derives_and_proves_the_source_text_network(capsys):
    status, out, err = run(capsys)
    assert status == 0, err
    assert "[2,3,3,2] with biases, activation sigmoid, loss half-sse" in out
    assert "Ψ[l−1] = (W̄[l][:, 1:]ᵀ · Ψ[l]) ⊙ a'(z[l−1])" in out
    assert "layer 0: 9/9 weights proven" in out
    assert "29/29 weights proven" in out and "is correct for this network" in out


def test_prove_summary_per_layer(capsys):
    status, out, _ = run(capsys, "prove", "--layers", "2,3,3,2", "--activation", "generic")
    assert status == 0
    assert [line.strip() for line in out.splitlines() if line.strip().startswith("layer")] == [
        "layer 0: 9/9 weights proven", "layer 1: 12/12 weights proven", "layer 2: 8/8 weights proven"]


def test_prove_json(capsys):
    status, out, _ = run(capsys, "prove", "--layers", "2,2,1", "--loss", "mse", "--json")
    data = json.loads(out)
    assert status == 0 and data["ok"] is True
    assert data["proven"] == data["total"] == 9
    assert isinstance(data["method"], str) and data["seconds"] > 0
    assert data["weights"][-1] == {"layer": 1, "from": 2, "to": 1, "status": "proven"}


def test_derive_chosen_weights(capsys):
    status, out, _ = run(capsys, "derive", "--layers", "2,3,3,2", "--weight", "0,1,2", "--weight", "2,0,1")
    assert status == 0
    assert "∂E/∂⁰w¹₂ = " in out and "∂E/∂²w⁰₁ = " in out and "∂E/∂¹w¹₁" not in out


def test_derive_all_weights_without_bias(capsys):
    status, out, _ = run(capsys, "derive", "--layers", "2,1", "--no-bias", "--weight", "all")
    assert status == 0
    assert out.count("∂E/∂⁰w") == 2


@pytest.mark.parametrize("args, message", [
    (["prove", "--layers", "2,0,3"], "layer 1 has size 0"),
    (["prove", "--layers", "two"], "layer size 'two' is not a whole number"),
    (["prove", "--activation", "foo"], "unknown activation 'foo': choose one of"),
    (["prove", "--loss", "bar"], "unknown loss 'bar': choose one of"),
    (["derive", "--weight", "9,9,9"], "weight 9,9,9: layer must be 0 … 2"),
    (["prove", "--layers"], "expected one argument"),
    (["prove", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_on_stderr_and_status_2(capsys, args, message):
    try:
        status = main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_refuted_recurrence_exits_1(monkeypatch, capsys):
    from gradproof.cli import symbolic
    from gradproof.derive.proof import prove as proving
    from gradproof.derive.symbolic.mistakes import MISTAKES

    def prove_with_mistake(network, recurrence=None, **options):
        return proving.prove(network, MISTAKES["missing-a-prime"].recurrence, **options)

    monkeypatch.setattr(symbolic, "prove", prove_with_mistake)
    status, out, _ = run(capsys, "prove", "--layers", "2,2,1")
    assert status == 1
    assert "layer 0: 0/6 weights proven" in out and "refuted: ∂E/∂⁰w" in out and "NOT proven" in out


@pytest.mark.deferred
def test_installed_command_and_python_m_gradproof():
    for command in (["gradproof", "prove", "--layers", "1,1", "--json"],
                    [sys.executable, "-m", "gradproof", "prove", "--layers", "1,1", "--json"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["total"] == 2
    bad = subprocess.run(["gradproof", "prove", "--layers", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="counts threads through /proc")
@pytest.mark.deferred
def test_the_command_line_starts_blas_with_one_thread_unless_told_otherwise():
    probe = ("import contextlib, io; from gradproof.cli import main; "
             "contextlib.redirect_stdout(io.StringIO()).__enter__(); main(['derive', '--layers', '1,1']); "
             "contextlib.redirect_stdout(__import__('sys').__stderr__).__enter__(); import numpy; "
             "numpy.ones((300, 300)) @ numpy.ones((300, 300)); "
             "print([l for l in open('/proc/self/status') if l.startswith('Threads')][0].split()[1], file=__import__('sys').__stdout__)")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "GRADPROOF_THREADS"}

    def threads(**extra):
        done = subprocess.run([sys.executable, "-c", probe], env={**env, **extra}, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    assert threads() == 1
    assert threads(GRADPROOF_THREADS="2") == 2


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["check-layer", "--help"], ["--version"]])
@pytest.mark.sampled(2)
def test_help_and_the_argument_tree_load_neither_numpy_nor_sympy(argv):
    """The parser checks every option (``--timeout`` too) with the standard library: ``--help`` must not pay
    for numpy (0.15 s) or sympy (0.4 s). The control: the same probe sees numpy once a verb runs."""
    probe = ("import sys, contextlib, io\nfrom gradproof.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main(sys.argv[1:])\n"
             "    except SystemExit:\n        pass\n"
             "print(sorted(m for m in ('numpy', 'sympy') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
    control = subprocess.run([sys.executable, "-c", probe, "check", "--layers", "2,2,1", "--quick"],
                             capture_output=True, text=True, timeout=120)
    assert "'numpy'" in control.stderr.strip().splitlines()[-1], control.stderr
