"""Every snippet in the README runs as written.

- ```python blocks run in order in one fresh interpreter each, from ``examples/`` (the README says so),
  so a snippet may import the example files;
- every line of a ```sh block that starts with ``gradproof`` runs from the repository's root and must exit
  with the status its comment states (``# exits 1``), else 0. The README's first block (install, test) is
  what CI itself runs; its ``gradproof`` is run here too.

A block right after ``<!-- not run: reason -->`` is skipped, with the reason shown.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"(<!-- not run: (?P<why>[^>]*) -->\s*)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
#: commands too slow for the default suite, run with -m slow
SLOW = ("--layers 784,", "--network atari", "--method general")


def _blocks(lang: str) -> list[tuple[str, str | None]]:
    return [(m["body"], m["why"]) for m in BLOCK.finditer(README) if m["lang"] == lang]


def _commands() -> list:
    found = []
    for body, why in _blocks("sh"):
        for line in body.splitlines():
            line = line.split("&&")[-1].strip()
            if not line.startswith("gradproof"):
                continue
            command, _, comment = line.partition("#")
            status = int(m[1]) if (m := re.search(r"exits (\d)", comment)) else 0
            marks = [pytest.mark.slow] if any(s in command for s in SLOW) else []
            if why:
                marks.append(pytest.mark.skip(reason=why))
            found.append(pytest.param(command.strip(), status, marks=marks, id=command.strip()[:60]))
    return found


@pytest.mark.parametrize("command, status", _commands())
@pytest.mark.sampled(1)
def test_readme_command(command, status, tmp_path):
    done = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == status, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("body, why", _blocks("python"), ids=lambda v: (v or "")[:40].replace("\n", " "))
@pytest.mark.sampled(1)
def test_readme_python_snippet(body, why):
    if why:
        pytest.skip(why)
    done = subprocess.run([sys.executable, "-c", body], cwd=ROOT / "examples", capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{body}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
