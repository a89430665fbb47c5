"""Convolutional networks: the model and its spec, the check of every weight by the forward-mode complex
step (positive and negative controls), planted conv mistakes caught and named (at the Atari size too), a
user's conv backward, the proofs (exact at small sizes, random at the real size), and the clear errors
where a feature handles dense layers only."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gradproof.cli import main
from gradproof.derive.errors import InputError, NetworkSpecError
from gradproof.derive.model.network import Network
from gradproof.derive.proof.conv_random import prove_conv_random
from gradproof.derive.proof.prove import prove
from gradproof.derive.symbolic import conv as symbolic_conv
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence
from gradproof.numeric.checks.backward import check_backward
from gradproof.numeric.checks.check import check_gradient
from gradproof.numeric.checks.conv_check import complex_step_gradient
from gradproof.numeric.checks.conv_mistakes import CONV_MISTAKES, KernelNotFlipped, PaddingNotTrimmed, as_gradient
from gradproof.numeric.compiled.conv import conv_psi_gradient
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.samples import make_sample, random_sample

#: every planted mistake changes the gradient here: a strided, padded convolution above another, and
#: one with as many input as output channels (where "not transposed" runs without a shape error)
MIXED = "2x9x9,conv3k3s2p1,conv3k3s2p1,conv3k2s1p1,4,2"


def _example(name: str):
    """A module of examples/ (not a package), loaded from its file."""
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_atari_network_has_the_source_texts_weight_count():
    network = Network.atari()
    assert network.n_weights == 1_685_667
    assert [layer.n_weights for layer in network.layers] == [8_224, 32_832, 36_928, 1_606_144, 1_539]
    assert network.layer_spec() == "4x84x84,conv32k8s4p0,conv64k4s2p0,conv64k3s1p0,512,3"
    assert network.activation_names == ("relu", "relu", "relu", "relu", "identity")


def test_the_spec_round_trips_and_weights_are_named_like_dense_ones():
    network = Network.from_spec("3x7x6,conv2k3s2p2,conv4k2,5", "tanh")
    assert Network.from_spec(network.layer_spec(), "tanh") == network
    assert network.shapes == ((2, 28), (4, 9), (5, 4 * 4 * 3 + 1))
    assert network.check_weight("0,27,2") == (0, 27, 2)
    assert network.layers[0].tap(27) == (2, 2, 2)
    with pytest.raises(NetworkSpecError, match="'from' must be 0 … 27"):
        network.check_weight("0,28,1")


@pytest.mark.parametrize("spec, message", [
    ("4x8x8,5,conv2k3", "comes after a dense layer"),
    ("1x4x4,conv2k9,3", "does not fit"),
    ("1x4x4,conv2k2q,3", "neither conv"),
    ("conv2k2,3", "starts with the input map"),
    ("1x4x4,conv0k2,3", "channels must be a whole number ≥ 1"),
    ("1x4x4,conv2k2s0,3", "stride must be a whole number ≥ 1"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(NetworkSpecError, match=message):
        Network.from_spec(spec)


@pytest.mark.parametrize("spec, activation", [(MIXED, "tanh"), ("1x6x6,conv2k3s1p1,conv2k2s2,3", "sigmoid"),
                                              ("2x5x5,conv3k2s2p1,4", "softplus")])
def test_the_complex_step_agrees_with_the_psi_gradient(spec, activation):
    sample = random_sample(Network.from_spec(spec, activation), seed=2, batch=2)
    x, y = sample.columns()
    for ours, steps in zip(conv_psi_gradient(sample.network, sample.wbar, x, y), complex_step_gradient(sample)):
        assert np.allclose(ours, steps, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", sorted(CONV_MISTAKES))
def test_planted_conv_mistakes_are_caught_and_named(name):
    network = Network.from_spec(MIXED, "tanh")
    sample = random_sample(network, seed=4)
    assert check_gradient(sample).ok
    result = check_gradient(sample, as_gradient(CONV_MISTAKES[name].recurrence, network))
    assert not result.ok and not result.direction.ok
    assert any(f"({name})" in sentence for sentence in result.diagnosis), result.diagnosis


def test_a_gradient_off_by_one_part_in_a_million_fails_the_direction_check():
    sample = random_sample(Network.atari(), seed=1)
    x, y = sample.columns()
    right = conv_psi_gradient(sample.network, sample.wbar, x, y)
    assert check_gradient(sample, tier="direction").direction.ok

    def slightly_off(wbar, xs, ys, reduction):
        return [g * (1 + 1e-6) if layer == 2 else g for layer, g in enumerate(right)]
    assert not check_gradient(sample, slightly_off, tier="direction").direction.ok


#: one at the Atari size in the default suite (2.5 s each); every planted mistake is caught at small sizes above
@pytest.mark.parametrize("name", [pytest.param("stride-ignored", marks=pytest.mark.slow),
                                  pytest.param("kernel-not-flipped", marks=pytest.mark.slow),
                                  pytest.param("not-transposed", marks=pytest.mark.slow), "missing-a-prime"])
@pytest.mark.deferred
def test_planted_mistakes_fail_the_direction_check_at_the_atari_size(name):
    network = Network.atari()
    sample = random_sample(network, seed=0)
    result = check_gradient(sample, as_gradient(CONV_MISTAKES[name].recurrence, network), tier="direction")
    assert not result.direction.ok


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CONV_MISTAKES))
def test_planted_mistakes_are_caught_and_named_at_the_atari_size(name):
    # padding 1 in the upper convolutions, so that an untrimmed padding shows (3,356,835 weights)
    padded = Network.from_spec("4x84x84,conv32k8s4,conv64k4s2p1,conv64k3s1p1,512,3", "relu,relu,relu,relu,identity")
    network = padded if name == "padding-not-trimmed" else Network.atari()
    sample = random_sample(network, seed=0)
    result = check_gradient(sample, as_gradient(CONV_MISTAKES[name].recurrence, network))
    assert not result.ok
    assert any(f"({name})" in sentence for sentence in result.diagnosis), result.diagnosis


@pytest.mark.slow
def test_every_weight_of_the_atari_network_agrees():
    result = check_gradient(random_sample(Network.atari(), seed=0))
    assert result.ok and result.weights == 1_685_667


def test_a_unit_exactly_at_the_relu_kink_cannot_be_decided():
    network = Network.from_spec("1x4x4,conv2k2s2,3", "relu,identity")
    sample = random_sample(network, seed=0)
    wbar = [w.copy() for w in sample.wbar]
    wbar[0][:, 0] = 0.0   # with a zero input every weighted sum of the convolution is exactly 0
    result = check_gradient(make_sample(network, wbar, np.zeros(16), sample.y))
    assert result.verdict == "cannot decide" and "kink" in result.report()
    with pytest.raises(FiniteDifferenceUnreliable, match="kink"):
        result.raise_if_failed()


def test_a_users_conv_backward_is_checked_and_a_wrong_one_caught():
    backward = _example("my_conv_grad").backward
    network = Network.from_spec("1x8x8,conv4k3s2p1,conv4k3s1p1,10,3", "tanh")
    assert check_backward(backward, network, seed=3, batch=2).ok

    def half_the_biases(wbar, x, y):
        grads = backward(wbar, x, y)
        grads[1][:, 0] *= 0.5
        return grads
    result = check_backward(half_the_biases, network, seed=3)
    assert not result.ok and {f.weight.layer for f in result.failures} == {1}


def test_the_exact_proof_covers_a_small_convolutional_network():
    proof = prove(Network.from_spec("1x4x4,conv2k2s2p1,conv2k2s1,2", "generic"))
    assert proof.ok and proof.total == 46


class _KernelNotFlipped(PsiRecurrence):
    description = "a recurrence whose transposed convolution does not flip the kernel"

    def propagate(self, sym, layer, psi):
        if sym.network.layers[layer].kind != "conv":
            return super().propagate(sym, layer, psi)
        back = symbolic_conv.back(sym, layer, psi, KernelNotFlipped())
        return sp.ImmutableMatrix(sym.activations[layer - 1].vjp(list(sym.z[layer - 1]), back))


@pytest.mark.parametrize("spec", ["1x3x3,conv1k2s1,conv1k2s1,1",
                                  pytest.param("1x4x4,conv2k2s1,conv2k2s1,2", marks=pytest.mark.slow)])
def test_the_exact_proof_refutes_a_kernel_that_is_not_flipped(spec):
    proof = prove(Network.from_spec(spec, "generic"), _KernelNotFlipped())
    assert not proof.ok and proof.refuted
    assert {w.weight.layer for w in proof.refuted} == {0}


def test_the_random_proof_holds_and_fails_on_planted_transposed_convolutions():
    network = Network.from_spec(MIXED, "tanh")
    assert prove(network, method="random").ok
    for wrong in (KernelNotFlipped(), PaddingNotTrimmed()):
        proof = prove_conv_random(network, PSI, transposed=wrong, seed=0)
        assert not proof.ok and proof.by_layer()[0][1] == 0


@pytest.mark.slow
def test_the_random_proof_covers_the_atari_network():
    proof = prove(Network.atari(), method="random", rounds=1)
    assert proof.ok and proof.total == 1_685_667


def test_the_command_line_checks_the_atari_network_quickly(capsys):
    assert main(["check", "--network", "atari", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["network"]["weights"] == 1_685_667 and out["peak_memory_mb"] > 0


@pytest.mark.parametrize("argv, message", [
    (["check", "--layers", "1x4x4,conv2k2,3", "--method", "central"], "supports dense layers only"),
    (["prove", "--layers", "1x4x4,conv2k2,3", "--method", "layerwise"], "supports dense layers only"),
    (["check", "--network", "atari", "--layers", "2,3"], "--network atari names the layers"),
    (["plot", "error-vs-step", "--layers", "1x4x4,conv2k2,3", "-o", "x.png"], "supports dense layers only"),
    (["gradient", "--layers", "1x4x4,conv2k2,3", "--method", "central"], "supports dense layers only"),
    (["prove", "--network", "atari"], "prove it at its real size with --method random"),
    (["derive", "--network", "atari"], "use a smaller one"),
])
def test_features_that_need_dense_layers_say_so(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_custom_recurrence_at_the_real_size_is_refused_with_a_reason():
    with pytest.raises(InputError, match="prove your own with --method exact"):
        prove(Network.from_spec(MIXED, "tanh"), _KernelNotFlipped(), method="random")


def test_the_gradient_verb_gives_psi_and_the_complex_step_for_a_convolutional_network(capsys):
    assert main(["gradient", "--layers", "1x5x5,conv2k3s2p1,3", "--activation", "tanh", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    gradients = out["gradients"]
    assert gradients["direct"] is None
    for psi, steps in zip(gradients["psi"], gradients["finite_difference"]):
        assert np.allclose(psi, steps, rtol=1e-10, atol=1e-14)


def test_a_step_too_large_to_carry_the_tangents_apart_is_refused(capsys):
    assert main(["check", "--layers", "1x4x4,conv2k2,3", "--step", "1e-5"]) == 2
    assert "at a step of at most 1e-10" in capsys.readouterr().err
