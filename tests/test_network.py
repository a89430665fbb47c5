"""The network model: what it accepts, what it builds, and the error for everything it refuses."""

import pytest

from gradproof.derive.errors import InputError, NetworkSpecError, UnknownNameError
from gradproof.derive.model.network import Network, WeightIndex, parse_layers


def test_source_text_network():
    net = Network.source_text()
    assert net.sizes == (2, 3, 3, 2)
    assert net.activation_names == ("sigmoid",) * 3
    assert net.loss.name == "half-sse" and net.bias
    assert net.shapes == ((3, 3), (3, 4), (2, 4))
    assert net.n_weights == 29


def test_weights_are_listed_in_wbar_order_with_the_bias_first():
    net = Network.from_spec("1,2")
    assert list(net.weights()) == [WeightIndex(0, 0, 1), WeightIndex(0, 1, 1),
                                   WeightIndex(0, 0, 2), WeightIndex(0, 1, 2)]
    assert [net.position(w) for w in net.weights()] == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]


def test_without_bias_sources_start_at_one():
    net = Network.from_spec("2,1", bias=False)
    assert net.shapes == ((1, 2),)
    assert [tuple(w) for w in net.weights()] == [(0, 1, 1), (0, 2, 1)]
    assert net.position(WeightIndex(0, 2, 1)) == (0, 0, 1)


@pytest.mark.parametrize("layers", ["2,3,3,2", [2, 3, 3, 2], (2, 3, 3, 2), " 2, 3,3 ,2 ", "[2,3,3,2]"])
def test_layers_in_every_accepted_form(layers):
    assert parse_layers(layers) == (2, 3, 3, 2)


@pytest.mark.parametrize("layers, message", [
    ("2,0,3", "layer 1 has size 0: every layer needs at least one neuron"),
    ("2,-1", "layer 1 has size -1"),
    ("two", "layer size 'two' is not a whole number"),
    ("2,3.5", "layer size '3.5' is not a whole number"),
    ([2, 3.0], "layer size 3.0 is not a whole number"),
    ([2, True], "layer size True is not a whole number"),
    ("2", "needs at least an input and an output layer"),
    ("", "has an empty entry"),
    ("2,,3", "has an empty entry"),
])
def test_bad_layers_name_the_problem(layers, message):
    with pytest.raises(NetworkSpecError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_layers(layers)


def test_per_layer_activations():
    net = Network.from_spec("2,3,3,1", "tanh,relu,identity")
    assert net.activation_names == ("tanh", "relu", "identity")


def test_loss_with_a_fixed_output_sets_it_from_one_name():
    assert Network.from_spec("4,8,3", "tanh", "softmax-ce").activation_names == ("tanh", "softmax")
    assert Network.from_spec("4,8,3", "relu", "bce").activation_names == ("relu", "sigmoid")
    assert Network.from_spec("4,8,8,3", "relu,tanh", "bce").activation_names == ("relu", "tanh", "sigmoid")


@pytest.mark.parametrize("spec, message", [
    (dict(activation="foo"), "unknown activation 'foo': choose one of sigmoid, tanh"),
    (dict(loss="bar"), "unknown loss 'bar': choose one of half-sse, mse, bce, softmax-ce"),
    (dict(activation="tanh,relu"), "2 activations for 3 weight layers"),
    (dict(activation="tanh,tanh,tanh", loss="softmax-ce"), "needs a softmax output layer"),
    (dict(activation="tanh,tanh,relu", loss="bce"), "needs a sigmoid output layer"),
    (dict(activation="softmax,tanh,softmax"), "softmax is an output activation but sits at layer 0"),
])
def test_bad_names_and_combinations(spec, message):
    with pytest.raises(NetworkSpecError, match=message):
        Network.from_spec("2,3,3,2", **spec)


def test_unknown_names_are_typed_errors():
    with pytest.raises(UnknownNameError):
        Network.from_spec("2,2", "nope")
    assert issubclass(UnknownNameError, InputError) and issubclass(InputError, ValueError)


@pytest.mark.parametrize("weight, message", [
    ("3,1,1", "layer must be 0 … 2"),
    ("0,3,1", "'from' must be 0 … 2 \\(0 is the bias\\)"),
    ("0,1,4", "'to' must be 1 … 3"),
    ("0,1", "three whole numbers"),
    ("a,b,c", "three whole numbers layer,from,to \\(e.g. 0,1,2\\), not 'a,b,c'"),
])
def test_bad_weight_indices(weight, message):
    with pytest.raises(NetworkSpecError, match=message):
        Network.source_text().check_weight(weight)


def test_describe_and_spec():
    net = Network.source_text()
    assert net.describe().startswith("[2,3,3,2] with biases, activation sigmoid, loss half-sse")
    assert net.spec() == {"layers": [2, 3, 3, 2], "activations": ["sigmoid"] * 3, "loss": "half-sse",
                          "bias": True, "weights": 29}
