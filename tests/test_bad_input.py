"""Every bad input in the README's table gets exit status 2 and its one-line message; the Python rows
raise the typed errors and warnings they list."""

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from gradproof.cli import main
from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof.layer import prove_layer
from gradproof import BackwardPassError, PrecisionWarning
from gradproof import check_layer as gradproof_check_layer
from gradproof.numeric.checks.backward import check_backward
from gradproof.numeric.samples import make_sample, random_sample

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_rows():
    text = README.read_text()
    table = text.split("<!-- bad-input-table")[1].split("\n\n")[0]
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`gradproof"):
            rows.append((cells[0], cells[1].strip("`"), cells[2]))
    return rows


def test_the_table_is_there():
    assert len(readme_rows()) >= 19


@pytest.mark.parametrize("what, command, message", readme_rows(), ids=[row[0] for row in readme_rows()])
def test_each_row_of_the_readme_table(what, command, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(shlex.split(command)[1:])
    except SystemExit as exit_:
        status = exit_.code
    _, err = capsys.readouterr()
    assert status == 2, f"{command}: status {status}"
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


NETWORK = Network.from_spec("2,3,2")
GOOD = random_sample(NETWORK)


@pytest.mark.parametrize("wbar, x, y, message", [
    ([np.zeros((2, 2)), GOOD.wbar[1]], GOOD.x, GOOD.y, r"wbar\[0\] has shape \(2, 2\), expected \(3, 3\) \(rows"),
    ([GOOD.wbar[0]], GOOD.x, GOOD.y, "wbar has 1 arrays for 2 weight layers"),
    ([np.full((3, 3), "a"), GOOD.wbar[1]], GOOD.x, GOOD.y, r"wbar\[0\] has dtype <U1: give real numbers"),
    ([GOOD.wbar[0] + 0j, GOOD.wbar[1]], GOOD.x, GOOD.y, r"wbar\[0\] is complex"),
    ([GOOD.wbar[0], np.where(np.eye(2, 4) > 0, np.nan, GOOD.wbar[1])], GOOD.x, GOOD.y,
     r"wbar\[1\] has a non-finite entry \(NaN or inf\) at index \(0, 0\)"),
    (GOOD.wbar, np.zeros(3), GOOD.y, r"x has shape \(3,\): give \(2,\) for one sample or \(B, 2\) for a batch"),
    (GOOD.wbar, GOOD.x, np.zeros(3), r"y has shape \(3,\), expected \(2,\)"),
    (GOOD.wbar, np.array([1.0, np.inf]), GOOD.y, r"x has a non-finite entry"),
    ("weights", GOOD.x, GOOD.y, "wbar must be a list of arrays"),
])
def test_bad_arrays(wbar, x, y, message):
    with pytest.raises(InputError, match=message):
        make_sample(NETWORK, wbar, x, y)


def test_float32_and_float16_warn():
    for dtype in (np.float32, np.float16):
        with pytest.warns(PrecisionWarning, match=f"wbar\\[0\\] is {np.dtype(dtype).name}: converted to float64"):
            make_sample(NETWORK, [GOOD.wbar[0].astype(dtype), GOOD.wbar[1]], GOOD.x, GOOD.y)


def test_backward_pass_errors_are_typed_input_errors():
    assert issubclass(BackwardPassError, InputError)
    with pytest.raises(BackwardPassError, match=re.escape("your backward pass returned 1 arrays for 2 weight layers")):
        check_backward(lambda wbar, x, y: wbar[:1], NETWORK)


# --- a layer's --arg x=npy:FILE: every file numpy cannot read as one real array is one line, exit 2 ------------

EXAMPLES = README.parent / "examples"


def _npy_files(folder: Path) -> dict:
    good = folder / "good.npy"
    np.save(good, np.ones((2, 2)))
    data = good.read_bytes()
    files = {"empty": b"", "truncated": data[:-5], "header only": data[:10], "not numpy": b"hello, not an array"}
    for name, content in files.items():
        (folder / f"{name}.npy").write_bytes(content)
    np.save(folder / "objects.npy", np.array([{}, 1], dtype=object), allow_pickle=True)
    np.save(folder / "strings.npy", np.array(["a", "b"]))
    np.save(folder / "complex.npy", np.ones((2, 2)) + 1j)
    np.savez(folder / "archive.npz", x=np.ones((2, 2)))
    return {name: folder / f"{name}.npy" for name in [*files, "objects", "strings", "complex"]} | {
        "archive": folder / "archive.npz", "folder": folder}


@pytest.mark.parametrize("verb", ["check-layer", "prove-layer"])
def test_an_unreadable_npy_argument_is_one_line(verb, tmp_path, capsys):
    files = _npy_files(tmp_path)
    for name, path in files.items():
        status = main([verb, f"{EXAMPLES / 'my_layers.py'}:relu", "--arg", f"x=npy:{path}"])
        _, err = capsys.readouterr()
        assert status == 2 and err.startswith("gradproof: error: --arg x:") and len(err.splitlines()) == 1, (name, err)
    np.save(tmp_path / "good.npy", np.array([[0.5, -1.0], [2.0, -0.25]]))   # the control: a real array is used
    assert main([verb, f"{EXAMPLES / 'my_layers.py'}:relu", "--arg", f"x=npy:{tmp_path / 'good.npy'}"]) == 0


@pytest.mark.parametrize("verb", ["check", "check-layer", "check-layers", "prove-layer"])
@pytest.mark.parametrize("option, value, message", [
    ("--seed", "-5", "the seed must be a whole number ≥ 0, not -5"),
    ("--timeout", "1e9", "--timeout must be a number of seconds ≥ 0 and at most 1000000"),
    ("--timeout", "1e300", "at most 1000000"), ("--timeout", "nan", "not nan"), ("--timeout", "-1e-9", "≥ 0")])
def test_seeds_and_time_limits_are_checked_alike_in_every_verb(verb, option, value, message, capsys):
    target = {"check": ["--layers", "2,3,2"], "check-layers": [str(EXAMPLES / "my_layers.py")]}.get(
        verb, [f"{EXAMPLES / 'my_layers.py'}:relu", "--arg", "x=randn:2,2"])
    assert main([verb, *target, f"{option}={value}"]) == 2
    _, err = capsys.readouterr()
    assert message in err and len(err.splitlines()) == 1


def test_the_largest_time_limit_is_accepted_and_a_huge_one_never_blames_the_layer(capsys):
    assert main(["check-layer", f"{EXAMPLES / 'my_layers.py'}:relu", "--arg", "x=randn:2,2", "--timeout", "1e6"]) == 0
    with pytest.raises(InputError, match="at most 1000000"):   # in Python: refused before the code runs
        gradproof_check_layer(lambda x: (x * x, x), lambda d, x: 2 * d * x, (np.ones(2),), timeout=1e10)


def test_the_python_api_checks_the_seed_of_both_layer_checks_alike():
    forward, backward, args = (lambda x: (x * x, x)), (lambda d, x: 2 * d * x), (np.ones(2),)
    for check in (gradproof_check_layer, prove_layer):
        with pytest.raises(InputError, match="seed must be a whole number ≥ 0, not -5"):
            check(forward, backward, args, seed=-5)
        assert check(forward, backward, args, seed=5).ok   # the control
