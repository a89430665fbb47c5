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
from gradproof import BackwardPassError, PrecisionWarning
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
