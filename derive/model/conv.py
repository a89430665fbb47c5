"""The convolution layer, and the compact spec that writes a convolutional network on one line.

A convolution is the source text's dense layer applied at every position of a map, with one W̄ shared by
all positions. At output position p, X̄[l]ₚ is the patch of the (zero-padded) input the kernel covers,
with the bias input 1 in front, and z[l]ₚ = W̄[l]·X̄[l]ₚ. So W̄[l] has shape (O, C·k·k + 1): row i − 1 is
output channel i (1 … O), column 0 the bias, column j = 1 + c·k² + u·k + v the kernel tap (c, u, v) —
``wbar[l][:, 1:].reshape(O, C, k, k)`` is torch's ``Conv2d.weight``. A weight ˡwʲᵢ keeps its meaning: from
patch entry j (0 is the bias) to output channel i, and by the chain rule over the positions it is used at

    ∂E/∂ˡwʲᵢ = Σₚ ˡΨᵢ,ₚ · X̄[l]ʲₚ        (Ψ correlated with the layer's input)

Maps are (C, H, W) per sample; a layer's input and output are also flat vectors in that order (the
flattening between the last convolution and the first dense layer is torch's ``flatten``). Square
kernels, one stride and one zero padding for both axes.

Spec (``--layers``): the input ``CxHxW`` first, then ``conv<O>k<k>[s<s>][p<p>]`` per convolution, then
dense widths: ``4x84x84,conv32k8s4,conv64k4s2,conv64k3s1,512,3`` is the source text's Atari network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gradproof.derive.errors import NetworkSpecError
from gradproof.derive.model.activations import Activation

#: the Nature-DQN network (Mnih et al. 2015) with 3 actions: 1,685,667 weights, the source text's count
ATARI_SPEC = "4x84x84,conv32k8s4,conv64k4s2,conv64k3s1,512,3"
ATARI_ACTIVATIONS = ("relu", "relu", "relu", "relu", "identity")

_CONV = re.compile(r"conv(\d+)k(\d+)(?:s(\d+))?(?:p(\d+))?")
_MAP = re.compile(r"(\d+)x(\d+)(?:x(\d+))?")


def out_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """The output length along one axis: ⌊(n + 2p − k)/s⌋ + 1."""
    return (n + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Conv:
    """z[l]ₚ = W̄·X̄ₚ at every output position p, then a(z): ``in_shape`` (C, H, W) → (O, Ho, Wo)."""

    in_shape: tuple[int, int, int]
    channels: int
    kernel: int
    activation: Activation
    stride: int = 1
    padding: int = 0
    bias: bool = True

    kind = "conv"

    def __post_init__(self):
        c, h, w = self.in_shape
        for name, value, least in (("channels", self.channels, 1), ("kernel", self.kernel, 1),
                                   ("stride", self.stride, 1), ("padding", self.padding, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise NetworkSpecError(f"a convolution's {name} must be a whole number ≥ {least}, not {value!r}")
        if min(self.in_shape) < 1:
            raise NetworkSpecError(f"a map of shape {self.in_shape}: every size must be at least 1")
        if min(h, w) + 2 * self.padding < self.kernel:
            raise NetworkSpecError(f"a {self.kernel}×{self.kernel} kernel does not fit a {h}×{w} map padded "
                                   f"by {self.padding}: use a smaller kernel or more padding")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        _, h, w = self.in_shape
        k, s, p = self.kernel, self.stride, self.padding
        return self.channels, out_size(h, k, s, p), out_size(w, k, s, p)

    @property
    def inputs(self) -> int:
        c, h, w = self.in_shape
        return c * h * w

    @property
    def outputs(self) -> int:
        o, h, w = self.out_shape
        return o * h * w

    @property
    def positions(self) -> int:
        """How many output positions share W̄."""
        _, h, w = self.out_shape
        return h * w

    @property
    def fan_in(self) -> int:
        """The patch's length C·k·k: W̄'s columns without the bias."""
        return self.in_shape[0] * self.kernel * self.kernel

    @property
    def shape(self) -> tuple[int, int]:
        """The shape of W̄: (O, C·k·k + 1) with a bias, (O, C·k·k) without."""
        return (self.channels, self.fan_in + self.bias)

    @property
    def kernel_shape(self) -> tuple[int, int, int, int]:
        """(O, C, k, k): torch's layout of the kernel, W̄[:, bias:] reshaped."""
        return (self.channels, self.in_shape[0], self.kernel, self.kernel)

    @property
    def n_weights(self) -> int:
        rows, cols = self.shape
        return rows * cols

    @property
    def first_source(self) -> int:
        return 0 if self.bias else 1

    def tap(self, source: int) -> tuple[int, int, int]:
        """The kernel tap (c, u, v) of source index j ≥ 1."""
        c, rest = divmod(source - 1, self.kernel * self.kernel)
        return (c,) + divmod(rest, self.kernel)

    def token(self) -> str:
        """The layer in the spec language: conv<O>k<k>s<s>p<p>."""
        return f"conv{self.channels}k{self.kernel}s{self.stride}p{self.padding}"

    def describe(self) -> str:
        o, h, w = self.out_shape
        return (f"conv {self.channels}×{self.kernel}×{self.kernel} stride {self.stride} padding {self.padding}: "
                f"{'×'.join(map(str, self.in_shape))}→{o}×{h}×{w} {self.activation.name}"
                + ("" if self.bias else " no-bias"))


def is_conv_spec(items: list) -> bool:
    """Whether a --layers list is the convolutional spec (a map input or a conv token)."""
    return any(isinstance(item, str) and (_MAP.fullmatch(item.lower()) or item.lower().startswith("conv"))
               for item in items)


def parse_conv_spec(items: list[str]) -> tuple[tuple[int, int, int], list]:
    """The input map (C, H, W) and, per layer, ("conv", O, k, s, p) or ("dense", n), from spec tokens."""
    if len(items) < 2:
        raise NetworkSpecError("a network needs at least an input and an output layer: e.g. "
                               "1x8x8,conv4k3,10")
    head = _MAP.fullmatch(str(items[0]).lower())
    if head is None:
        raise NetworkSpecError(f"a convolutional spec starts with the input map CxHxW (e.g. 4x84x84), "
                               f"not {items[0]!r}")
    sizes = [int(g) for g in head.groups() if g is not None]
    c, h, w = sizes if len(sizes) == 3 else [1] + sizes
    layers, dense_seen = [], False
    for item in items[1:]:
        token = str(item).lower()
        match = _CONV.fullmatch(token)
        if match:
            if dense_seen:
                raise NetworkSpecError(f"{item!r} comes after a dense layer: convolutions first, then dense "
                                       "layers (a dense layer's output has no map)")
            stride, padding = match.group(3) or 1, match.group(4) or 0
            layers.append(("conv", int(match.group(1)), int(match.group(2)), int(stride), int(padding)))
        elif token.isdigit():
            layers.append(("dense", int(token)))
            dense_seen = True
        else:
            raise NetworkSpecError(f"layer {item!r} is neither conv<O>k<k>[s<s>][p<p>] (e.g. conv32k8s4) nor "
                                   "a dense width: write e.g. 4x84x84,conv32k8s4,conv64k4s2,512,3")
    return (c, h, w), layers
