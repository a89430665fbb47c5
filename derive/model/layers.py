"""The kinds of layer a network is a sequence of.

A layer maps its input vector to its output vector and owns some weights. The source text's fully
connected layer is :class:`Dense`: z = W̄·X̄ with the bias input first, then a(z). Each kind says its
weight array's shape, how a weight is named, and its activation; the symbolic forms
(:mod:`gradproof.derive.symbolic`) and the numeric forms (:mod:`gradproof.numeric.compiled`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradproof.derive.model.activations import Activation


@dataclass(frozen=True)
class Dense:
    """z = W̄·X̄, then a(z): ``inputs`` → ``outputs`` units, W̄ of shape (outputs, inputs + bias) with the
    bias column first."""

    inputs: int
    outputs: int
    activation: Activation
    bias: bool = True

    kind = "dense"

    @property
    def shape(self) -> tuple[int, int]:
        """The shape of W̄: (n_{l+1}, n_l + 1) with a bias, (n_{l+1}, n_l) without."""
        return (self.outputs, self.inputs + self.bias)

    @property
    def n_weights(self) -> int:
        rows, cols = self.shape
        return rows * cols

    @property
    def first_source(self) -> int:
        """The lowest source index: 0 (the bias) with a bias, 1 without."""
        return 0 if self.bias else 1

    def describe(self) -> str:
        return f"dense {self.inputs}→{self.outputs} {self.activation.name}{'' if self.bias else ' no-bias'}"
