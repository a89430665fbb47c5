"""gradproof's own dense and convolution rules proven by tracing the code the check runs, on the ladder of
sizes; the catalogue's planted mistakes in those same steps refuted (the negative controls)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradproof.numeric.checks.conv_mistakes import CONV_MISTAKES
from gradproof.numeric.checks.mistakes import NUMERIC_MISTAKES
from gradproof.numeric.checks.own_rules import CONV_LADDER, DENSE_LADDER, prove_conv, prove_dense


@pytest.mark.parametrize("config", DENSE_LADDER, ids=str)
def test_the_dense_rules_are_proven_on_the_ladder(config):
    result = prove_dense(*config)
    assert result.proof.ok, result.proof.report()
    assert result.proof.sizes["wbar"] == (config[1], config[0] + config[3])


@pytest.mark.parametrize("config", CONV_LADDER, ids=str)
def test_the_convolution_rules_are_proven_on_the_ladder(config):
    result = prove_conv(*config)
    assert result.proof.ok, result.proof.report()
    assert result.proof.total == config[7] * config[1] * config[2] * config[0] + config[3] * (
        config[0] * config[4] ** 2 + config[8])


#: (mistake, the configuration that reaches it, the gradient it gets wrong)
CONV_CONTROLS = [("stride-ignored", (1, 5, 4, 2, 3, 2, 1, 2, True), "dx"),
                 ("kernel-not-flipped", (1, 4, 4, 2, 3, 1, 1, 1, True), "dx"),
                 ("padding-not-trimmed", (1, 4, 4, 2, 3, 1, 1, 1, True), "dx"),
                 ("not-transposed", (2, 4, 4, 2, 3, 1, 1, 1, False), "dx")]


@pytest.mark.parametrize("name, config, wrong", CONV_CONTROLS)
def test_a_planted_convolution_mistake_is_refuted(name, config, wrong):
    result = prove_conv(*config, recurrence=CONV_MISTAKES[name].recurrence)
    assert result.proof.status == "refuted", result.proof.report()
    assert {f"d{e.input}" for e in result.proof.refuted} == {wrong}


@pytest.mark.parametrize("name, config, wrong", [("bias-column-kept", (3, 2, 2, True), "dx"),
                                                   ("not-transposed", (3, 3, 1, True), "dx"),
                                                   ("outer-product-reversed", (3, 3, 1, False), "dwbar"),
                                                   ("bias-gradients-left-out", (2, 3, 1, True), "dwbar")])
def test_a_planted_dense_mistake_is_refuted(name, config, wrong):
    result = prove_dense(*config, recurrence=NUMERIC_MISTAKES[name])
    assert result.proof.status == "refuted", result.proof.report()
    assert {f"d{e.input}" for e in result.proof.refuted} == {wrong}


@pytest.mark.deferred
def test_the_command_line_lists_every_configuration_and_what_the_sizes_cover():
    done = subprocess.run([sys.executable, "-m", "gradproof", "prove-own-layers", "--json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["ok"] and len(answer["rules"]) == len(DENSE_LADDER) + len(CONV_LADDER)
    assert "not proven at symbolic sizes" in answer["note"] and "--method general" in answer["note"]
