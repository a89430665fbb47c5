"""The "Check your own layer" section: it shows every convention, and every example script in examples/
runs (tests/test_readme.py runs the section's snippets and commands with the rest of the README)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTION = ROOT.joinpath("README.md").read_text().split("## Check your own layer", 1)[1].split("\n## ", 1)[0]


def test_the_section_shows_every_convention_and_the_figures():
    for needle in ("check_layer(affine_forward", "check_loss(softmax_loss", "class Affine", "torch.autograd.Function",
                   "energy = lambda p", "gradproof check-layers", "gradproof check-layer ", "define_activation",
                   "--define", "error model", "course_layers.py"):
        assert needle in SECTION, needle


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "examples").glob("*.py")
                                          if p.name.startswith(("check_", "custom_"))))
@pytest.mark.sampled(3)
def test_each_example_script_runs(script, monkeypatch):
    if script == "check_torch.py":
        pytest.importorskip("torch")
    monkeypatch.chdir(ROOT / "examples")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    runpy.run_path(str(ROOT / "examples" / script), run_name="__main__")
