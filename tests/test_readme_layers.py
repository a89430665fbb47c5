"""The README's "Check your own layer" section runs as written: every python snippet (in examples/), every
gradproof command with the exit status it states, and every script in examples/."""

from __future__ import annotations

import re
import runpy
import shlex
import shutil
from pathlib import Path

import pytest

from gradproof.cli import main

ROOT = Path(__file__).resolve().parent.parent
SECTION = ROOT.joinpath("README.md").read_text().split("## Check your own layer", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```(python|sh)\n(.*?)```", SECTION, flags=re.S)
PYTHON = [code for kind, code in BLOCKS if kind == "python"]
COMMANDS = [line for kind, code in BLOCKS if kind == "sh" for line in code.splitlines() if line.startswith("gradproof")]


@pytest.fixture(scope="module")
def copied(tmp_path_factory):
    """A copy of examples/ and the zoo, so that the commands may write files."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", root / "examples")
    shutil.copytree(ROOT / "tests" / "zoo", root / "tests" / "zoo")
    return root / "examples"


@pytest.fixture
def workspace(copied, monkeypatch):
    """Run in the copy, with it importable (as `python snippet.py` there would)."""
    monkeypatch.chdir(copied)
    monkeypatch.syspath_prepend(str(copied))
    return copied


def test_the_section_has_snippets_and_commands():
    assert len(PYTHON) >= 4 and len(COMMANDS) >= 10


@pytest.mark.parametrize("code", PYTHON, ids=lambda c: c.splitlines()[0][:40])
def test_each_python_snippet_runs(code, workspace):
    if "import torch" in code:
        pytest.importorskip("torch")
    exec(compile(code, "README snippet", "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("line", COMMANDS, ids=lambda c: c[:60])
def test_each_command_exits_as_stated(line, workspace):
    command, _, comment = line.partition("  #")
    expected = int(re.search(r"exits (\d)", comment).group(1)) if "exits" in comment else 0
    assert main(shlex.split(command)[1:]) == expected


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples").glob("*.py")
                                          if p.name.startswith(("check_", "custom_"))))
def test_each_example_script_runs(script, workspace):
    if script == "check_torch.py":
        pytest.importorskip("torch")
    runpy.run_path(str(workspace / script), run_name="__main__")
