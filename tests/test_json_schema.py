"""Each verb's --json is the schema the README documents: the tests run every row of its JSON table and
compare the top-level keys both ways (a key printed but not documented fails, and so does the reverse)."""
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _rows() -> list[tuple[str, set[str]]]:
    table = (ROOT / "README.md").read_text().split("<!-- json-table")[1].split("\n\n")[0]
    rows = []
    for line in table.splitlines()[3:]:
        command, keys = line.split(" | ")[:2]
        command = re.search(r"`([^`]*)`", command).group(1)
        rows.append((command, _top_level(keys)))
    return rows


def _top_level(cell: str) -> set[str]:
    """The backticked names outside parentheses: what the row says are the top-level keys."""
    depth, outside = 0, []
    for char in cell:
        depth += char == "("
        outside.append(char if depth == 0 else " ")
        depth -= char == ")"
    return set(re.findall(r"`([a-z_]+)`", "".join(outside)))


#: one fresh process runs every row through the command line's own entry point (imports paid once)
DRIVER = """
import contextlib, io, json, sys
from gradproof.cli import main
for argv in json.loads(sys.stdin.read()):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    print(json.dumps({"status": status, "stdout": out.getvalue()}))
"""


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("json")
    commands = [command for command, _ in _rows()]
    argvs = []
    for command in commands:
        argv = shlex.split(command)[1:] + ["--json"]
        if "-o" in argv:  # write into a temporary folder, not the repository
            argv[argv.index("-o") + 1] = str(folder / argv[argv.index("-o") + 1])
        argvs.append(argv)
    done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(argvs), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return dict(zip(commands, map(json.loads, done.stdout.splitlines())))


@pytest.mark.parametrize("command, keys", _rows(), ids=[row[0] for row in _rows()])
@pytest.mark.deferred
def test_each_verbs_json_has_exactly_the_documented_keys(command, keys, printed):
    data = json.loads(printed[command]["stdout"])  # exactly one object, nothing else on stdout
    assert set(data) == keys, f"printed but not documented: {set(data) - keys}; documented, missing: {keys - set(data)}"
    assert printed[command]["status"] == (2 if "error" in keys else 0)


def test_the_key_reader_sees_nested_names_as_nested():
    assert _top_level("`ok`, `proof` (`{ok, proven}`, `x`), `pdf`") == {"ok", "proof", "pdf"}
