"""The symbols of a network: one per weight and bias, input and target.

Each carries its indices, so printers render the source text's notation (ˡwʲᵢ: layer top-left, source
neuron top-right, target neuron bottom-right) from the object rather than by parsing strings. The plain
names (``w0_1_2``, ``x1``, ``y2``) are valid identifiers for ``lambdify`` and valid LaTeX as a fallback.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.model.network import WeightIndex


class Weight(sp.Symbol):
    """The weight ˡwʲᵢ from neuron ``source`` of layer ``layer`` (0 = bias) to neuron ``target``."""

    def __new__(cls, layer: int, source: int, target: int):
        layer, source, target = int(layer), int(source), int(target)  # (formatting sympy Integers is slow)
        obj = sp.Symbol.__xnew__(cls, f"w{layer}_{source}_{target}", real=True)
        obj.layer, obj.source, obj.target = layer, source, target
        return obj

    def __getnewargs_ex__(self):
        return (self.layer, self.source, self.target), {}

    @property
    def index(self):
        return WeightIndex(self.layer, self.source, self.target)


class Input(sp.Symbol):
    """The input xⱼ, entry j of X̄[0] (entry 0 is the bias input, fixed at 1)."""

    def __new__(cls, position: int):
        obj = sp.Symbol.__xnew__(cls, f"x{position}", real=True)
        obj.position = int(position)
        return obj

    def __getnewargs_ex__(self):
        return (self.position,), {}


class Target(sp.Symbol):
    """The target yₖ for output neuron k."""

    def __new__(cls, position: int):
        obj = sp.Symbol.__xnew__(cls, f"y{position}", real=True)
        obj.position = int(position)
        return obj

    def __getnewargs_ex__(self):
        return (self.position,), {}


class PsiEntry(sp.Symbol):
    """ˡΨᵢ = ∂E/∂ˡzᵢ, entry i of Ψ at weight layer l: a name for showing the recurrence's pattern."""

    def __new__(cls, layer: int, unit: int):
        obj = sp.Symbol.__xnew__(cls, f"psi{layer}_{unit}", real=True)
        obj.layer, obj.unit = int(layer), int(unit)
        return obj

    def __getnewargs_ex__(self):
        return (self.layer, self.unit), {}
