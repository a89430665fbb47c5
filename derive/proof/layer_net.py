"""The proof of a network of layers (:mod:`gradproof.derive.model.layer_net`): its Ψ recurrence traced.

The network's forward phase and its Ψ recurrence are numpy code; traced together as one loss
``E, ∂E/∂W̄[0], … = network(W̄[0], …, x, y)`` they give every weight's ∂E/∂w twice — by sympy's derivative
of the traced E and by the recurrence — and :func:`gradproof.derive.proof.layer.prove_layer` decides each
pair exactly. The region is part of the result: the sign of every ReLU input and the arg-max of every
pooling window at the traced point (the proof holds wherever those are the same). Each layer's own rule is
proven the same way, at the network's sizes: the convolution's and dense layer's two steps, the pooling's
routing to the arg-max, the activation, and the loss's Ψ at the output.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from gradproof.derive.model.layer_net import LayerNet, down, max_pool, output, output_psi, unpool, weight_gradient, xbar_of
from gradproof.derive.proof.layer import prove_layer
from gradproof.derive.proof.layer_result import LayerProof


@dataclass(frozen=True)
class NetworkProof:
    """The whole network's proof and each layer rule's."""

    network: LayerNet
    whole: LayerProof
    rules: tuple[tuple[str, str, LayerProof], ...]     # (the rule in unicode, in LaTeX, its proof)
    point: dict

    @property
    def ok(self) -> bool:
        return self.whole.ok and all(proof.ok for _, _, proof in self.rules)

    def by_layer(self) -> list[tuple[int, int, int]]:
        """(weight layer, proven, total)."""
        return [(int(name[len("wbar"):]), proven, total) for name, proven, total in self.whole.by_input()]


def sample(net: LayerNet, seed: int = 0) -> tuple[list, np.ndarray, np.ndarray]:
    """Weights, an input (C, H, W) and a one-hot target, drawn from ``seed`` (distinct values: no ties)."""
    rng = np.random.default_rng(seed)
    wbars = [rng.standard_normal(shape) / np.sqrt(shape[1]) for shape in net.shapes]
    x = rng.standard_normal(net.layers[0].in_shape)
    y = np.zeros(net.weight_layers[-1].outputs)
    y[rng.integers(len(y))] = 1.0
    return wbars, x, y


def network_loss(net: LayerNet):
    """``loss(wbar0, …, x, y) -> (E, ∂E/∂W̄[0], …)`` by the network's forward phase and Ψ recurrence."""
    count = len(net.shapes)

    def loss(*args):
        wbars, x, y = args[:count], args[count], args[count + 1]
        error, caches, a = net.forward(x, wbars, y)
        return (error, *net.backward(caches, a, y))

    names = [f"wbar{k}" for k in range(count)] + ["x", "y"]
    loss.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                            for n in names])
    return loss


def prove_network(net: LayerNet, seed: int = 0) -> NetworkProof:
    """Every weight of ``net`` proven by tracing its Ψ recurrence, and every layer rule at its sizes."""
    wbars, x, y = sample(net, seed)
    count = len(wbars)
    whole = prove_layer(network_loss(net), None, (*wbars, x, y), kind="loss", inputs=list(range(count)),
                        name="the network's Ψ recurrence", seed=seed)
    return NetworkProof(net, whole, tuple(_rules(net, seed)), {"x": x, "y": y, "wbars": wbars})


def _rules(net: LayerNet, seed: int) -> list[tuple[str, str, LayerProof]]:
    """Each layer's rule as a forward/backward pair of the same functions the recurrence calls."""
    rng = np.random.default_rng([seed, 1])
    found = []
    for layer in net.layers:
        if layer.kind == "pool":
            c, h, w = layer.in_shape
            maps = rng.permutation(c * h * w).reshape(1, h, w, c) / (c * h * w) - 0.5   # no ties
            found.append((f"max pooling {layer.size}×{layer.size}: Ψ routed to the arg-max",
                          rf"max pooling ${layer.size}\times{layer.size}$: $\Psi$ routed to the arg-max",
                          prove_layer(*_pool_pair(layer.size), (maps,), name="max pooling", seed=seed)))
            continue
        what = "convolution" if layer.kind == "conv" else "dense layer"
        values = rng.standard_normal((1, *layer.in_shape[1:], layer.in_shape[0]) if layer.kind == "conv"
                                     else (1, layer.inputs))
        down_text, down_tex = (("the kernel rotated by 180°", r"the kernel rotated by $180^\circ$")
                               if layer.kind == "conv" else ("W̄[:, 1:]ᵀ", r"$\bar W_{:,1:}^T$"))
        found.append((f"{what}: ∂E/∂W̄ = Σₚ Ψₚ ⊗ X̄ₚ and Ψ down through {down_text}",
                      rf"{what}: $\partial E/\partial \bar W = \sum_p \Psi_p \otimes \bar X_p$, $\Psi$ down "
                      rf"through {down_tex}",
                      prove_layer(*_weight_pair(layer), (values, rng.standard_normal(layer.shape)), name=what,
                                  seed=seed)))
        if layer is not net.layers[-1]:
            z = rng.standard_normal((1, 2, 3)) + 0.1   # an elementwise rule: any shape shows it
            found.append((f"{layer.activation.name}: Ψ = ∂E/∂a ⊙ a'(z)",
                          rf"{layer.activation.name}: $\Psi = \partial E/\partial a \odot a'(z)$",
                          prove_layer(*_activation_pair(layer.activation), (z,), name=layer.activation.name,
                                      seed=seed)))
    last = net.weight_layers[-1]
    z, y = rng.standard_normal(last.outputs), np.eye(last.outputs)[0]
    found.append((f"the output: Ψ of {net.loss.name} on {last.activation.name}",
                  rf"the output: $\Psi$ of {net.loss.name} on {last.activation.name}",
                  prove_layer(_output_loss(net), None, (z, y), kind="loss", inputs=[0], name=net.loss.name,
                              seed=seed)))
    return found


def _pool_pair(size: int):
    def pool_forward(maps):
        return max_pool(maps, size)

    def pool_backward(dout, cache):
        return unpool(dout, cache, size)

    return pool_forward, pool_backward


def _weight_pair(layer):
    def layer_forward(values, wbar):
        xbar = xbar_of(layer, values)
        return xbar @ wbar.T, (xbar, wbar)

    def layer_backward(psi, cache):
        xbar, wbar = cache
        below = down(layer, wbar, psi)
        return below.reshape(below.shape[0], -1) if layer.kind == "dense" else below, weight_gradient(psi, xbar)

    return layer_forward, layer_backward


def _activation_pair(activation):
    def activation_forward(z):
        return activation.np_forward(z), z

    def activation_backward(dout, z):
        return activation.np_vjp(z, None, dout)

    return activation_forward, activation_backward


def _output_loss(net: LayerNet):
    last = net.weight_layers[-1]

    def output_loss(z, y):
        a, error = output(net.loss, last.activation, z, y)
        return error, output_psi(net.loss, last.activation, z, a, y)

    return output_loss
