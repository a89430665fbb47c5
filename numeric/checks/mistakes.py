"""The mistakes of :mod:`gradproof.derive.symbolic.mistakes` as numeric backward passes over numpy arrays, under the same
names: each overrides the one step of :class:`gradproof.numeric.compiled.matrix.MatrixRecurrence` that its symbolic twin
gets wrong."""

from __future__ import annotations

import numpy as np

from gradproof.numeric.compiled.matrix import MatrixRecurrence


def _back(network, wbar, layer, psi):
    return wbar[layer][:, int(network.bias):].T @ psi


class BiasColumnKept(MatrixRecurrence):
    def propagate(self, network, wbar, fwd, layer, psi):
        back = (wbar[layer].T @ psi)[: network.sizes[layer]]
        return network.activations[layer - 1].np_vjp(fwd.z[layer - 1], None, back)


class MissingActivationDerivative(MatrixRecurrence):
    def propagate(self, network, wbar, fwd, layer, psi):
        return _back(network, wbar, layer, psi)


class DerivativeAtActivation(MatrixRecurrence):
    def propagate(self, network, wbar, fwd, layer, psi):
        act = network.activations[layer - 1]
        return _back(network, wbar, layer, psi) * act.np_derivative(act.np_forward(fwd.z[layer - 1]))


class NotTransposed(MatrixRecurrence):
    def propagate(self, network, wbar, fwd, layer, psi):
        weights = wbar[layer][:, int(network.bias):]
        back = weights @ psi if weights.shape[0] == weights.shape[1] else weights.T @ psi
        return network.activations[layer - 1].np_vjp(fwd.z[layer - 1], None, back)


class OuterProductReversed(MatrixRecurrence):
    def weight_gradient(self, network, fwd, layer, psi):
        rows, cols = network.shape(layer)
        return fwd.xbar[layer] @ psi.T if rows == cols else psi @ fwd.xbar[layer].T


class WrongLayerInput(MatrixRecurrence):
    def weight_gradient(self, network, fwd, layer, psi):
        if network.sizes[layer] != network.sizes[layer + 1]:
            return psi @ fwd.xbar[layer].T
        own = network.activations[layer].np_forward(fwd.z[layer])
        if network.bias:
            own = np.vstack([np.ones((1, own.shape[1])), own])
        return psi @ own.T


class HalfSseRuleWithMean(MatrixRecurrence):
    def output_psi(self, network, fwd, y_columns):
        if network.loss.name != "mse":
            return super().output_psi(network, fwd, y_columns)
        return network.activations[-1].np_vjp(fwd.z[-1], fwd.output, fwd.output - y_columns)


class FactorTwoDropped(MatrixRecurrence):
    def output_psi(self, network, fwd, y_columns):
        if network.loss.name != "mse":
            return super().output_psi(network, fwd, y_columns)
        n = fwd.output.shape[0]
        return network.activations[-1].np_vjp(fwd.z[-1], fwd.output, (fwd.output - y_columns) / n)


class SoftmaxJacobianIgnored(MatrixRecurrence):
    def output_psi(self, network, fwd, y_columns):
        if network.activations[-1].name != "softmax":
            return super().output_psi(network, fwd, y_columns)
        a = fwd.output
        return network.loss.np_gradient(a, y_columns) * a * (1 - a)


class CrossEntropyShortcut(MatrixRecurrence):
    def output_psi(self, network, fwd, y_columns):
        return fwd.output - y_columns


class LoopEndsEarly(MatrixRecurrence):
    def gradient(self, network, wbar, x_columns, y_columns, reduction="mean"):
        grads = super().gradient(network, wbar, x_columns, y_columns, reduction)
        grads[0] = np.zeros_like(grads[0])
        return grads


class SignError(MatrixRecurrence):
    def output_psi(self, network, fwd, y_columns):
        return -super().output_psi(network, fwd, y_columns)


class BiasGradientsLeftOut(MatrixRecurrence):
    def weight_gradient(self, network, fwd, layer, psi):
        full = super().weight_gradient(network, fwd, layer, psi)
        if network.bias:
            full[:, 0] = 0.0
        return full


NUMERIC_MISTAKES: dict[str, MatrixRecurrence] = {
    "bias-column-kept": BiasColumnKept(),
    "missing-a-prime": MissingActivationDerivative(),
    "a-prime-at-activation": DerivativeAtActivation(),
    "not-transposed": NotTransposed(),
    "outer-product-reversed": OuterProductReversed(),
    "wrong-layer-input": WrongLayerInput(),
    "half-sse-rule-with-mse": HalfSseRuleWithMean(),
    "factor-2-dropped": FactorTwoDropped(),
    "softmax-jacobian-ignored": SoftmaxJacobianIgnored(),
    "cross-entropy-shortcut": CrossEntropyShortcut(),
    "loop-ends-early": LoopEndsEarly(),
    "sign-error": SignError(),
    "bias-gradients-left-out": BiasGradientsLeftOut(),
}


def as_gradient(recurrence: MatrixRecurrence, network):
    """The recurrence as the ``gradient(wbar, x_columns, y_columns, reduction)`` a check takes."""
    return lambda wbar, x, y, reduction="mean": recurrence.gradient(network, wbar, x, y, reduction)
