"""The per-weight forms' disk cache (gradproof.numeric.compiled.per_weight), and the numeric command's
promise that it loads no sympy."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled import per_weight
from gradproof.numeric.compiled.lambdified import CompiledGradient
from gradproof.numeric.samples import random_sample

NETWORKS = [("2,3,2", "sigmoid", "half-sse"), ("2,2,2", "tanh", "mse"), ("2,3,1", "relu", "bce"),
            ("2,2,3", "softplus", "softmax-ce"), ("3,2,2", "identity", "mse"), ("2,2,2", "tanh,softmax", "half-sse")]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path))
    per_weight.compiled.cache_clear()
    yield tmp_path
    per_weight.compiled.cache_clear()


@pytest.mark.parametrize("layers,activation,loss", NETWORKS)
def test_a_form_loaded_from_the_cache_is_the_lambdified_form_value_for_value(cache, layers, activation, loss):
    network = Network.from_spec(layers, activation, loss)
    sample = random_sample(network, seed=1, batch=3)
    x, y = sample.columns()
    for form in per_weight.FORMS:
        first = per_weight.compiled(network, form)
        per_weight.compiled.cache_clear()
        loaded = per_weight.compiled(network, form)
        assert (first.origin, loaded.origin) == ("sympy", "cache")
        fresh = CompiledGradient(network, form).compile()  # lambdify now, no cache involved
        assert _renumbered(loaded.source) == _renumbered(fresh.source)
        for reduction in ("mean", "sum"):
            for a, b in zip(loaded(sample.wbar, x, y, reduction), fresh(sample.wbar, x, y, reduction)):
                np.testing.assert_array_equal(a, b)


def _renumbered(source: str) -> str:
    """The source with sympy's Dummy arguments numbered from 0 (their numbers count the Dummies made)."""
    names = {}
    return re.sub(r"_Dummy_\d+", lambda m: names.setdefault(m.group(0), f"_Dummy_{len(names)}"), source)


def test_every_part_of_the_key_changes_the_file(cache):
    base = Network.from_spec("2,3,2")
    paths = {per_weight.cache_path(net, form) for net, form in [
        (base, "psi"), (base, "direct"), (Network.from_spec("2,3,3"), "psi"),
        (Network.from_spec("2,3,2", "tanh"), "psi"), (Network.from_spec("2,3,2", loss="mse"), "psi"),
        (Network.from_spec("2,3,2", bias=False), "psi")]}
    assert len(paths) == 6 and all(p.parent == cache for p in paths)


def test_a_broken_entry_is_compiled_again_and_replaced(cache):
    network = Network.from_spec("2,2,1")
    path = per_weight.cache_path(network, "psi")
    path.write_text("def _lambdifygenerated(:\n", encoding="utf-8")
    found = per_weight.compiled(network, "psi")
    assert found.origin == "sympy" and "_lambdifygenerated" in path.read_text(encoding="utf-8")
    per_weight.compiled.cache_clear()
    assert per_weight.compiled(network, "psi").origin == "cache"


@pytest.mark.parametrize("layers,activation,loss", NETWORKS[:4])
@pytest.mark.parametrize("form", per_weight.FORMS)
@pytest.mark.parametrize("edit", ["times 2", "one entry", "shape", "a part in a million"])
@pytest.mark.sampled(8)
def test_an_edited_entry_is_never_used_and_is_compiled_again(cache, layers, activation, loss, form, edit):
    """A backward pass under check can write this user's cache (adversarial round 20): an entry that runs but
    computes something else is discarded and compiled again; control: the entry as written is loaded."""
    network = Network.from_spec(layers, activation, loss)
    written = per_weight.compiled(network, form)
    path = per_weight.cache_path(network, form)
    per_weight.compiled.cache_clear()
    assert per_weight.compiled(network, form).origin == "cache"  # the control
    wrapper = {"times 2": "[2 * a for a in found]",
               "one entry": "[a + (i == 0) * 1e-3 * (abs(a).max() + 1) for i, a in enumerate(found)]",
               "shape": "found[:-1]", "a part in a million": "[a * (1 + 1e-6) for a in found]"}[edit]
    path.write_text(written.source.replace("def _lambdifygenerated(", "def _original(", 1)
                    + f"\ndef _lambdifygenerated(*args):\n    found = _original(*args)\n    return {wrapper}\n",
                    encoding="utf-8")
    per_weight.compiled.cache_clear()
    found = per_weight.compiled(network, form)
    assert found.origin == "sympy" and "_original" not in path.read_text(encoding="utf-8")


def test_the_cache_can_be_turned_off_and_user_definitions_are_never_cached(cache, monkeypatch):
    from gradproof.derive.model.activations import Elementwise
    network = Network.from_spec("2,2,1")
    monkeypatch.setenv("GRADPROOF_CACHE", "off")
    assert per_weight.cache_path(network, "psi") is None
    monkeypatch.setenv("GRADPROOF_CACHE", str(cache))
    sigmoid = network.activations[0]
    assert isinstance(sigmoid, Elementwise)
    mine = Network.from_spec("2,2,1", activation=[_copy(sigmoid), "sigmoid"])
    assert per_weight.cache_path(mine, "psi") is None


def _copy(activation):
    from dataclasses import replace
    return replace(activation)


NO_SYMPY = r"""
import sys
from gradproof.cli import main
statuses = []
for args in sys.argv[1:]:
    try:
        statuses.append(main(args.split()))
    except SystemExit as done:
        statuses.append(done.code)
loaded = sorted(m for m in sys.modules if m == "sympy" or m.startswith("sympy.") or m.endswith(".lambdified"))
print("LOADED", statuses, loaded)
"""

COMMANDS = ["check --layers 64,128,128,10", "check --layers 2,3,3,2", "check --layers 2,3,3,2 --quick --json",
            "check --layers 1x8x8,conv4k3s1p1,10 --quick",
            "check --layers 10,20,5"]  # 325 weights: Ψ in matrix form, the direct form (chain rule) per weight


def test_a_numeric_check_loads_no_sympy(cache):
    """Once the per-weight forms are on disk, numeric checks (large, small, direction tier, convolutional)
    import neither sympy nor lambdify: one process runs them all, then looks."""
    per_weight.compiled(Network.from_spec("2,3,3,2"), "psi")  # on disk now (this process may load sympy)
    per_weight.compiled(Network.from_spec("2,3,3,2"), "direct")
    per_weight.compiled(Network.from_spec("10,20,5"), "direct")
    env = dict(os.environ, GRADPROOF_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-c", NO_SYMPY, *COMMANDS], capture_output=True, text=True,
                          env=env, cwd=str(cache), timeout=300)
    last = done.stdout.strip().splitlines()[-1]
    assert last == "LOADED [0, 0, 0, 0, 0] []", done.stdout + done.stderr


def test_the_probe_sees_sympy_when_the_forms_must_be_compiled(cache):
    """The negative control of the test above: with the cache off, the small network's forms are compiled
    by sympy, and the same probe reports it."""
    env = dict(os.environ, GRADPROOF_CACHE="off")
    done = subprocess.run([sys.executable, "-c", NO_SYMPY, "check --layers 2,2,1"], capture_output=True,
                          text=True, env=env, cwd=str(cache), timeout=120)
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("LOADED [0] [") and "'sympy'" in last and "lambdified" in last, done.stdout + done.stderr


def test_an_entry_others_may_write_is_never_executed(cache):
    network = Network.from_spec("2,2,1")
    per_weight.compiled(network, "psi")
    path = per_weight.cache_path(network, "psi")
    path.chmod(0o666)
    per_weight.compiled.cache_clear()
    assert per_weight.compiled(network, "psi").origin == "sympy"  # compiled again, and stored afresh
    assert not path.stat().st_mode & 0o022
