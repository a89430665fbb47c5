"""Classic mistakes in a convolution's backward pass, each overriding the one step it gets wrong.

Every one runs without an error on every shape (a mistake that crashes is caught by the interpreter, not
by a gradient check), so a check has to find it by the numbers; the diagnosis of a failed check compares
the gradient under test with each (:mod:`gradproof.numeric.checks.conv_check`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradproof.derive.model.conv_arrays import TransposedConvolution
from gradproof.numeric.compiled.conv import ConvRecurrence


class StrideIgnored(TransposedConvolution):
    def dilate(self, psi, stride):
        return psi


class KernelNotFlipped(TransposedConvolution):
    def flip(self, kernel):
        return kernel.transpose(1, 0, 2, 3)


class PaddingNotTrimmed(TransposedConvolution):
    def trim(self, full, padding, in_hw):
        return super().trim(full, 0, in_hw)


class NotTransposed(TransposedConvolution):
    def flip(self, kernel):
        return kernel if kernel.shape[0] == kernel.shape[1] else super().flip(kernel)


class MissingActivationDerivative(ConvRecurrence):
    def propagate(self, network, wbar, fwd, layer, psi):
        if network.layers[layer].kind != "conv":
            return super().propagate(network, wbar, fwd, layer, psi)
        return self.back(network, wbar, layer, psi)


def _through(transposed: TransposedConvolution) -> ConvRecurrence:
    recurrence = ConvRecurrence()
    recurrence.transposed = transposed
    return recurrence


@dataclass(frozen=True)
class ConvMistake:
    name: str
    description: str
    recurrence: ConvRecurrence


CONV_MISTAKES: dict[str, ConvMistake] = {m.name: m for m in (
    ConvMistake("stride-ignored", "Ψ was not dilated by the stride before the transposed convolution",
                _through(StrideIgnored())),
    ConvMistake("kernel-not-flipped", "the transposed convolution's kernel was not rotated by 180°",
                _through(KernelNotFlipped())),
    ConvMistake("padding-not-trimmed", "the forward pass's zero padding was not trimmed from Ψ of the input",
                _through(PaddingNotTrimmed())),
    ConvMistake("not-transposed", "Ψ went down through the convolution itself, not its transpose (the kernel "
                "neither flipped nor its channel axes swapped)", _through(NotTransposed())),
    ConvMistake("missing-a-prime", "Ψ was not multiplied by a'(z) below a convolution",
                MissingActivationDerivative()),
)}


def as_gradient(recurrence: ConvRecurrence, network):
    """The recurrence as the ``gradient(wbar, x_columns, y_columns, reduction)`` a check takes."""
    return lambda wbar, x, y, reduction="mean": recurrence.gradient(network, wbar, x, y, reduction)
