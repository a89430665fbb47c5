"""A network of layers with max pooling: convolutions, max pooling, dense layers, and its Ψ recurrence.

The spec is the convolutional one (:mod:`gradproof.derive.model.conv`) with ``pool<k>`` tokens: max pooling
over k×k windows with stride k, right after the activation of the convolution before it:
``1x6x6,conv2k3,pool2,3`` with ``--activation relu --loss softmax-ce`` is conv → relu → max-pool → dense →
softmax-ce. One sample; maps are (H, W, C) inside (channels last, as in :mod:`.conv_arrays`), flattened in
torch's (C, H, W) order before the first dense layer.

Everything here is numpy code that also runs, unchanged, on traced arrays (the proof traces it): the forward
phase (:meth:`LayerNet.forward`) and the Ψ recurrence layer by layer (:meth:`LayerNet.backward`):

- the output: Ψ = a − y (softmax with cross-entropy, y one-hot), or a'(z) ⊙ ∂E/∂a;
- a dense layer: ∂E/∂W̄ = Ψ ⊗ X̄, and ∂E/∂(its input) = W̄[:, 1:]ᵀ·Ψ;
- max pooling: ∂E/∂(its input) is ∂E/∂(its output) routed to the arg-max of each window, zero elsewhere;
- the activation: Ψ = ∂E/∂a(z) ⊙ a'(z);
- a convolution: ∂E/∂W̄ = Σₚ Ψₚ ⊗ X̄ₚ (Ψ correlated with the input), and ∂E/∂(its input) = Ψ correlated
  with the kernel rotated by 180° (the transposed convolution, :data:`.conv_arrays.TRANSPOSED`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from gradproof.derive.errors import NetworkSpecError
from gradproof.derive.model.activations import Activation, get_activation
from gradproof.derive.model.conv import Conv, parse_conv_spec
from gradproof.derive.model.conv_arrays import TRANSPOSED, kernel_of, patches, to_flat, with_ones
from gradproof.derive.model.layers import Dense
from gradproof.derive.model.losses import Loss, get_loss

_POOL = re.compile(r"(?:max)?pool(\d+)")


def has_pooling(layers) -> bool:
    """Whether a --layers value has a pool<k> token (a network of layers, not a :class:`Network`)."""
    items = layers.split(",") if isinstance(layers, str) else list(layers or ())
    return any(_POOL.fullmatch(str(item).strip().lower()) for item in items)


@dataclass(frozen=True)
class MaxPool:
    """Max pooling over k×k windows with stride k: (C, H, W) → (C, H/k, W/k)."""

    in_shape: tuple[int, int, int]
    size: int

    kind = "pool"

    def __post_init__(self):
        c, h, w = self.in_shape
        if self.size < 1 or h % self.size or w % self.size:
            raise NetworkSpecError(f"pool{self.size} needs maps whose height and width are multiples of "
                                   f"{self.size}, not {h}×{w}")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        return c, h // self.size, w // self.size


@dataclass(frozen=True)
class LayerNet:
    """Weight layers (Conv, Dense) and pooling layers in order, the activations per weight layer, a loss."""

    layers: tuple
    loss: Loss

    @classmethod
    def from_spec(cls, layers: str, activation: str = "relu", loss: str = "softmax-ce") -> LayerNet:
        items = [s.strip() for s in layers.split(",") if s.strip()]
        pools = {k: int(m.group(1)) for k, item in enumerate(items) if (m := _POOL.fullmatch(item.lower()))}
        plain = [item for k, item in enumerate(items) if k not in pools]
        shape, parsed = parse_conv_spec(plain)
        loss = get_loss(loss)
        acts = _activations(activation, len(parsed), loss)
        built, where = [], 1
        for k, item in enumerate(items[1:], start=1):
            if k in pools:
                if not built or built[-1].kind != "conv":
                    raise NetworkSpecError(f"{item!r}: max pooling follows a convolution (and its activation)")
                built.append(MaxPool(shape, pools[k]))
            else:
                built.append(_weight_layer(parsed[where - 1], shape, acts[where - 1], built))
                where += 1
            shape = getattr(built[-1], "out_shape", None) or shape
        return cls(tuple(built), loss)

    @property
    def weight_layers(self) -> list:
        return [layer for layer in self.layers if layer.kind != "pool"]

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [layer.shape for layer in self.weight_layers]

    @property
    def n_weights(self) -> int:
        return sum(r * c for r, c in self.shapes)

    def token(self, layer) -> str:
        if layer.kind == "pool":
            return f"pool{layer.size}"
        return layer.token() if layer.kind == "conv" else str(layer.outputs)

    def spec(self) -> str:
        c, h, w = self.layers[0].in_shape
        return ",".join([f"{c}x{h}x{w}"] + [self.token(layer) for layer in self.layers])

    def forward(self, x: np.ndarray, wbars, y: np.ndarray) -> tuple:
        """E and, per layer, what the recurrence needs: x of shape (C, H, W), y one-hot (n_L,)."""
        values, caches, wbars = x.transpose(1, 2, 0)[None], [], list(wbars)
        for layer in self.layers:
            if layer.kind == "pool":
                values, cache = max_pool(values, layer.size)
            else:
                wbar = wbars.pop(0)
                xbar = xbar_of(layer, values)
                z = xbar @ wbar.T
                cache = (xbar, z, wbar)
                values = layer.activation.np_forward(z) if layer is not self.layers[-1] else z
            caches.append(cache)
        a, error = output(self.loss, self.layers[-1].activation, values[0], y)
        return error, caches, a

    def backward(self, caches, a, y) -> list[np.ndarray]:
        """The Ψ recurrence, layer by layer from the output: ∂E/∂W̄[l] for every weight layer."""
        psi = output_psi(self.loss, self.layers[-1].activation, caches[-1][1][0], a, y)[None]
        grads = []
        for position in range(len(self.layers) - 1, -1, -1):
            layer, cache = self.layers[position], caches[position]
            if layer.kind == "pool":
                psi = unpool(psi, cache, layer.size)  # ∂E/∂(pool input), routed to the arg-max
                continue
            xbar, z, wbar = cache
            if position != len(self.layers) - 1:
                psi = layer.activation.np_vjp(z, None, _reshaped(psi, z))     # Ψ = ∂E/∂a ⊙ a'(z)
            grads.append(weight_gradient(psi, xbar))
            if position:
                psi = down(layer, wbar, psi)
        return grads[::-1]


def _activations(activation: str, count: int, loss: Loss) -> list[Activation]:
    names = [s.strip() for s in activation.split(",")] if isinstance(activation, str) else list(activation)
    if loss.output_activation and len(names) == count - 1:
        names.append(loss.output_activation)
    if len(names) == 1:
        names = names * (count - 1) + [loss.output_activation or names[0]]
    if len(names) != count:
        raise NetworkSpecError(f"{len(names)} activations for {count} weight layers")
    return [get_activation(name) for name in names]


def _weight_layer(parsed, shape, activation, built):
    bias = True
    if parsed[0] == "conv":
        if built and built[-1].kind == "dense":
            raise NetworkSpecError("a convolution after a dense layer: convolutions first")
        _, channels, kernel, stride, padding = parsed
        return Conv(shape, channels, kernel, activation, stride, padding, bias)
    inputs = built[-1].outputs if built and built[-1].kind == "dense" else shape[0] * shape[1] * shape[2]
    return Dense(inputs, parsed[1], activation, bias)


def xbar_of(layer, values):
    if layer.kind == "conv":
        return with_ones(patches(values, layer.kernel, layer.stride, layer.padding), True)
    rows = to_flat(values) if values.ndim == 4 else values
    return with_ones(rows, True)


def max_pool(maps: np.ndarray, k: int) -> tuple:
    """(B, H, W, C) → (B, H/k, W/k, C), the max of each k×k window, and the windows' arg-max (cache)."""
    b, h, w, c = maps.shape
    windows = maps.reshape(b, h // k, k, w // k, k, c).transpose(0, 1, 3, 5, 2, 4).reshape(b, h // k, w // k, c, k * k)
    chosen = np.argmax(windows, axis=-1)
    pooled = np.take_along_axis(windows, chosen[..., None], axis=-1)[..., 0]
    return pooled, (chosen, maps.shape)


def unpool(psi: np.ndarray, cache, k: int) -> np.ndarray:
    """∂E/∂(the pooling's input): each window's ∂E/∂(its max) at the window's arg-max, 0 elsewhere."""
    chosen, (b, h, w, c) = cache
    if psi.ndim == 2:  # from a dense layer: unflattened from torch's (C, H, W) order
        psi = psi.reshape(b, c, h // k, w // k).transpose(0, 2, 3, 1)
    routed = (np.arange(k * k) == chosen[..., None]) * psi[..., None]
    return routed.reshape(b, h // k, w // k, c, k, k).transpose(0, 1, 4, 2, 5, 3).reshape(b, h, w, c)


def _reshaped(psi: np.ndarray, z: np.ndarray) -> np.ndarray:
    """∂E/∂a as z is shaped: unflattened from torch's (C, H, W) order below a dense layer."""
    if psi.shape == z.shape:
        return psi
    b, h, w, c = z.shape
    return psi.reshape(b, c, h, w).transpose(0, 2, 3, 1)


def weight_gradient(psi: np.ndarray, xbar: np.ndarray) -> np.ndarray:
    """∂E/∂W̄ = Σₚ Ψₚ ⊗ X̄ₚ over the positions (one for a dense layer)."""
    return psi.reshape(-1, psi.shape[-1]).T @ xbar.reshape(-1, xbar.shape[-1])


def down(layer, wbar, psi):
    """∂E/∂(the layer's input) from its Ψ: W̄[:, 1:]ᵀ·Ψ, or the transposed convolution."""
    if layer.kind == "dense":
        return psi @ wbar[:, 1:]
    return TRANSPOSED(psi, kernel_of(wbar, layer), layer.stride, layer.padding, layer.in_shape[1:])


def output(loss: Loss, activation: Activation, z: np.ndarray, y: np.ndarray) -> tuple:
    a = activation.np_forward(z[:, None])[:, 0]
    return a, loss.np_error(z[:, None], a[:, None], y[:, None])[0]


def output_psi(loss: Loss, activation: Activation, z, a, y):
    if loss.collapses_with(activation):
        return a - y
    return activation.np_vjp(z[:, None], a[:, None], loss.np_gradient(a[:, None], y[:, None]))[:, 0]
