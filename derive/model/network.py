"""The network model both halves of gradproof speak: sizes, one activation per layer, a loss, bias on/off.

Indices follow the source text. Weight layer ``l`` (0 … L−1) connects layer l to layer l+1 through
W̄[l], of shape (n_{l+1}, n_l + 1) with the bias column first. A weight is named by its layer, the input
neuron it comes from (``source``: 0 is the bias input, 1 … n_l the neurons) and the neuron it goes to
(``target``: 1 … n_{l+1}), written ˡwʲᵢ. Without biases the sources run 1 … n_l and W̄[l] has n_l columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from gradproof.derive.model import display
from gradproof.derive.model.activations import Activation, get_activation
from gradproof.derive.errors import NetworkSpecError
from gradproof.derive.model.conv import ATARI_ACTIVATIONS, ATARI_SPEC, Conv, is_conv_spec, parse_conv_spec
from gradproof.derive.model.layers import Dense
from gradproof.derive.model.losses import Loss, get_loss

SOURCE_TEXT_LAYERS = (2, 3, 3, 2)


class WeightIndex(NamedTuple):
    """A weight ˡwʲᵢ: its layer, the neuron it comes from (0 = bias) and the neuron it goes to."""

    layer: int
    source: int
    target: int

    def __str__(self) -> str:
        return f"{self.layer},{self.source},{self.target}"


@dataclass(frozen=True)
class Network:
    """A network: a sequence of layers and a loss, validated on construction.

    Build a fully connected one with :meth:`Network.from_spec`, which also accepts the command line's
    strings, or :meth:`Network.of_layers` from layers.
    """

    layers: tuple[Dense | Conv, ...]
    loss: Loss

    def __post_init__(self):
        if not isinstance(self.layers, tuple) or not self.layers:
            raise NetworkSpecError("a network needs at least one layer")
        _check_sizes(self.sizes)
        for below, above in zip(self.layers, self.layers[1:]):
            if below.outputs != above.inputs:
                raise NetworkSpecError(f"a layer gives {below.outputs} outputs but the next takes {above.inputs}")
            _check_maps(below, above)
        if len({layer.bias for layer in self.layers}) > 1:
            raise NetworkSpecError("every layer has a bias or none does: mixed biases are not supported")
        for position, act in enumerate(self.activations[:-1]):
            if act.is_output_only:
                raise NetworkSpecError(
                    f"{act.name} is an output activation but sits at layer {position}: use it last only")
        required = self.loss.output_activation
        if required and self.activations[-1].name != required:
            raise NetworkSpecError(
                f"loss {self.loss.name!r} needs a {required} output layer, but the last activation is "
                f"{self.activations[-1].name!r}: end the per-layer list with {required}, or give one "
                f"activation name for the hidden layers")

    @classmethod
    def of_layers(cls, layers: Sequence[Dense], loss: str | Loss = "half-sse") -> Network:
        """A network from its layers and a loss (a name or a :class:`Loss`)."""
        return cls(tuple(layers), get_loss(loss))

    @classmethod
    def from_spec(cls, layers: str | Sequence[int] = SOURCE_TEXT_LAYERS,
                  activation: str | Activation | Sequence[str | Activation] = "sigmoid",
                  loss: str | Loss = "half-sse", bias: bool = True) -> Network:
        """A fully connected network from sizes (``"2,3,3,2"`` or ``[2, 3, 3, 2]``), activations and a loss.

        ``activation`` is one name for every layer or a comma-separated string / sequence with one per
        weight layer. When the loss fixes the output layer (``softmax-ce``: softmax, ``bce``: sigmoid),
        one name, or one per hidden layer, sets the hidden layers and the loss sets the output.
        """
        if is_conv_spec(_split(layers)):
            return cls._from_conv_spec(_split(layers), activation, loss, bias)
        sizes = parse_layers(layers)
        loss = get_loss(loss)
        acts = _activations(_split(activation), len(sizes) - 1, loss)
        if len(acts) != len(sizes) - 1:
            raise NetworkSpecError(
                f"{len(acts)} activations for {len(sizes) - 1} weight layers: give one name "
                f"for all layers or exactly {len(sizes) - 1}, one per layer")
        dense = tuple(Dense(n_in, n_out, act, bool(bias)) for n_in, n_out, act in zip(sizes, sizes[1:], acts))
        return cls(dense, loss)

    @classmethod
    def _from_conv_spec(cls, items: list, activation, loss, bias: bool) -> Network:
        """A convolutional network from the spec of :mod:`gradproof.derive.model.conv`."""
        shape, parsed = parse_conv_spec(items)
        loss = get_loss(loss)
        acts = _activations(_split(activation), len(parsed), loss)
        if len(acts) != len(parsed):
            raise NetworkSpecError(f"{len(acts)} activations for {len(parsed)} weight layers: give one name "
                                   f"for all layers or exactly {len(parsed)}, one per layer")
        layers = []
        for item, act in zip(parsed, acts):
            if item[0] == "conv":
                _, channels, kernel, stride, padding = item
                layers.append(Conv(shape, channels, kernel, act, stride, padding, bool(bias)))
                shape = layers[-1].out_shape
            else:
                inputs = layers[-1].outputs if layers else shape[0] * shape[1] * shape[2]
                layers.append(Dense(inputs, item[1], act, bool(bias)))
        return cls(tuple(layers), loss)

    @classmethod
    def source_text(cls) -> Network:
        """The source text's network: [2,3,3,2], biases, sigmoid, E = ½·Σ(a − y)²."""
        return cls.from_spec()

    @classmethod
    def atari(cls, activation: str | Sequence[str] | None = None, loss: str | Loss = "half-sse") -> Network:
        """The source text's Atari network: the Nature-DQN with 3 actions, 1,685,667 weights (input
        4×84×84; conv 32 8×8 stride 4; conv 64 4×4 stride 2; conv 64 3×3 stride 1; dense 3136 → 512 →
        3), ReLU hidden layers and an identity output unless ``activation`` says otherwise."""
        return cls.from_spec(ATARI_SPEC, ATARI_ACTIVATIONS if activation is None else activation, loss)

    @property
    def has_conv(self) -> bool:
        """Whether any layer is a convolution."""
        return any(layer.kind == "conv" for layer in self.layers)

    def require_dense(self, feature: str) -> None:
        """A clear error where ``feature`` does not (yet) handle convolution layers."""
        if self.has_conv:
            raise NetworkSpecError(f"{feature} supports dense layers only: this network has convolution "
                                   "layers (gradproof check and prove --method random handle them)")

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        """[n0, n1, …, nL]: the input width and every layer's output width (kept: the hot loops read it)."""
        return (self.layers[0].inputs,) + tuple(layer.outputs for layer in self.layers)

    @cached_property
    def activations(self) -> tuple[Activation, ...]:
        return tuple(layer.activation for layer in self.layers)

    @property
    def bias(self) -> bool:
        """Whether the layers have bias inputs (all do, or none)."""
        return self.layers[0].bias

    @property
    def depth(self) -> int:
        """L, the number of weight layers."""
        return len(self.layers)

    def shape(self, layer: int) -> tuple[int, int]:
        """The shape of W̄[layer]: (n_{l+1}, n_l + 1) with a bias, (n_{l+1}, n_l) without."""
        return self.layers[layer].shape

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple(self.shape(layer) for layer in range(self.depth))

    @property
    def n_weights(self) -> int:
        return sum(rows * cols for rows, cols in self.shapes)

    @property
    def first_source(self) -> int:
        """The lowest source index: 0 (the bias) with biases, 1 without."""
        return 0 if self.bias else 1

    def weights(self, layer: int | None = None) -> Iterator[WeightIndex]:
        """Every weight's index in W̄ order (layer, then target row, then source column)."""
        layers = range(self.depth) if layer is None else (layer,)
        for l in layers:
            rows, cols = self.shape(l)
            for row in range(rows):
                for col in range(cols):
                    yield WeightIndex(l, col + self.first_source, row + 1)

    def position(self, weight: WeightIndex) -> tuple[int, int, int]:
        """Where a weight sits in the arrays: (layer, row, column) of W̄[layer]."""
        return weight.layer, weight.target - 1, weight.source - self.first_source

    def check_weight(self, weight: Sequence[int]) -> WeightIndex:
        """``weight`` (``"L,J,I"`` or three numbers) as a WeightIndex, or a clear error."""
        if isinstance(weight, str):
            weight = weight.split(",")
        try:
            layer, source, target = (int(v) for v in weight)
        except (TypeError, ValueError):
            given = ",".join(map(str, weight)) if isinstance(weight, (list, tuple)) else weight
            raise NetworkSpecError(
                f"a weight is three whole numbers layer,from,to (e.g. 0,1,2), not {given!r}") from None
        if not 0 <= layer < self.depth:
            raise NetworkSpecError(f"weight {layer},{source},{target}: layer must be 0 … {self.depth - 1}")
        rows, cols = self.shape(layer)
        last = cols - 1 + self.first_source
        if not self.first_source <= source <= last:
            raise NetworkSpecError(
                f"weight {layer},{source},{target}: 'from' must be {self.first_source} … "
                f"{last}" + (" (0 is the bias)" if self.bias else " (no bias)"))
        if not 1 <= target <= rows:
            raise NetworkSpecError(
                f"weight {layer},{source},{target}: 'to' must be 1 … {rows}")
        return WeightIndex(layer, source, target)

    @property
    def activation_names(self) -> tuple[str, ...]:
        return tuple(act.name for act in self.activations)

    def layer_spec(self) -> str:
        """The layers as --layers takes them: sizes, or the convolutional spec."""
        if not self.has_conv:
            return ",".join(map(str, self.sizes))
        return ",".join(["x".join(map(str, self.layers[0].in_shape))] + [
            layer.token() if layer.kind == "conv" else str(layer.outputs) for layer in self.layers])

    def describe(self) -> str:
        """One line: sizes, activations, loss, bias."""
        names = self.activation_names
        acts = names[0] if len(set(names)) == 1 else ",".join(names)
        return (f"[{self.layer_spec()}] {'with' if self.bias else 'without'} biases, "
                f"activation {acts}, loss {self.loss.name} ({self.loss.formula}), "
                f"{self.n_weights} weights")

    def __repr__(self) -> str:
        return f"<Network {self.describe()}>"

    def _repr_latex_(self) -> str | None:
        return display.latex(self)

    def spec(self) -> dict:
        """The network as plain data (for JSON)."""
        return {"layers": self.layer_spec() if self.has_conv else list(self.sizes),
                "activations": list(self.activation_names),
                "loss": self.loss.name, "bias": self.bias, "weights": self.n_weights}


def parse_layers(layers: str | Sequence[int]) -> tuple[int, ...]:
    """Layer sizes from ``"2,3,3,2"`` or a sequence of whole numbers, validated."""
    items = _split(layers)
    sizes = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)) and not hasattr(item, "__index__"):
            raise NetworkSpecError(f"layer size {item!r} is not a whole number: give sizes like 2,3,3,2")
        try:
            sizes.append(int(item) if isinstance(item, str) else item.__index__())
        except ValueError:
            raise NetworkSpecError(
                f"layer size {item!r} is not a whole number: give sizes like 2,3,3,2") from None
    sizes = tuple(sizes)
    _check_sizes(sizes)
    return sizes


def _check_maps(below, above) -> None:
    """A convolution reads a map: the layer below must be a convolution giving that map."""
    if above.kind != "conv":
        return
    if below.kind != "conv":
        raise NetworkSpecError("a convolution after a dense layer is not supported: convolutions first, "
                               "then dense layers")
    if below.out_shape != above.in_shape:
        raise NetworkSpecError(f"a convolution gives {below.out_shape} maps but the next takes {above.in_shape}")


def _check_sizes(sizes: tuple[int, ...]) -> None:
    if len(sizes) < 2:
        raise NetworkSpecError(
            f"a network needs at least an input and an output layer, got {len(sizes)} size(s): "
            "give two or more sizes, e.g. 2,3,3,2")
    for position, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, int):
            raise NetworkSpecError(f"layer size {size!r} is not a whole number: give sizes like 2,3,3,2")
        if size < 1:
            raise NetworkSpecError(
                f"layer {position} has size {size}: every layer needs at least one neuron")


def _activations(names: list, depth: int, loss: Loss) -> list[Activation]:
    """One activation per weight layer from one name, one per layer, or one per hidden layer when the
    loss sets the output layer."""
    if len(names) == 1:
        acts = [get_activation(names[0])] * depth
        if loss.output_activation:
            acts[-1] = get_activation(loss.output_activation)
        return acts
    if loss.output_activation and len(names) == depth - 1:
        return [get_activation(name) for name in names] + [get_activation(loss.output_activation)]
    return [get_activation(name) for name in names]


def _split(value) -> list:
    if isinstance(value, str):
        parts = [part.strip() for part in value.strip().strip("[]").split(",")]
        if any(part == "" for part in parts):
            raise NetworkSpecError(f"{value!r} has an empty entry: separate the items by single commas")
        return parts
    if isinstance(value, (Activation, Loss)):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise NetworkSpecError(f"expected a comma-separated list or a sequence, got {value!r}") from None
