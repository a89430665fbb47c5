"""Names a printed derivation defines and then uses: the output aₖ and the denominator S of a softmax,
the sensitivity ∂E/∂ˡzᵢ computed by the definition, and a colour mark. Each is a sympy object that
prints as its name (both printers have a method for it), and :func:`expand_names` turns an expression
written with them back into the network's own symbols.
"""

from __future__ import annotations

import weakref

import sympy as sp

from gradproof.derive.symbolic.functions import Exp
from gradproof.derive.symbolic.network import SymbolicNetwork


class OutputName(sp.Symbol):
    """aₖ: output k of a softmax layer, e^(zₖ)/S."""

    def __new__(cls, position: int):
        obj = sp.Symbol.__xnew__(cls, f"a{position}", positive=True)
        obj.position = int(position)
        return obj

    def __getnewargs_ex__(self):
        return (self.position,), {}


class SoftmaxSum(sp.Symbol):
    """S = Σⱼ e^(zⱼ), the softmax's denominator."""

    def __new__(cls):
        return sp.Symbol.__xnew__(cls, "S", positive=True)

    def __getnewargs_ex__(self):
        return (), {}


class Sensitivity(sp.Symbol):
    """∂E/∂ˡzᵢ as ``sympy.diff`` computes it from E (not by the recurrence)."""

    def __new__(cls, layer: int, unit: int):
        obj = sp.Symbol.__xnew__(cls, f"dE_dz{layer}_{unit}", real=True)
        obj.layer, obj.unit = int(layer), int(unit)
        return obj

    def __getnewargs_ex__(self):
        return (self.layer, self.unit), {}


class Marked(sp.Function):
    """``Marked(expr, colour)``: ``expr`` shown in ``colour`` (LaTeX); only for display."""

    nargs = 2


def marked(expr, colour: str):
    return Marked(expr, sp.Symbol(colour))


def unmark(expr):
    """``expr`` without its colour marks."""
    return expr.replace(lambda e: isinstance(e, Marked), lambda e: e.args[0]) if isinstance(expr, sp.Basic) else expr


def softmax_names(sym: SymbolicNetwork) -> dict:
    """For a softmax output: e^(zₖ) → aₖ·S, which writes E and its derivatives in aₖ (S cancels where
    it can); empty for any other output."""
    if sym.network.activations[-1].name != "softmax":
        return {}
    exps = [Exp(z) for z in sym.z[-1]]
    names = {sp.Add(*exps): SoftmaxSum()}  # xreplace meets the whole sum before its terms
    names.update({e: OutputName(k) * SoftmaxSum() for k, e in enumerate(exps, start=1)})
    return names


def in_outputs(expr, sym: SymbolicNetwork):
    """``expr`` with every e^(zₖ) of a softmax output written as aₖ·S (unchanged otherwise)."""
    names = softmax_names(sym)
    return expr.xreplace(names) if names and isinstance(expr, sp.Basic) else expr


#: each network's sensitivities, computed once (a derivation expands names in every row it prints)
_SENSITIVITIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sensitivities(sym: SymbolicNetwork) -> dict:
    """∂E/∂ᴸ⁻¹zⱼ for every output weighted sum, by ``sympy.diff`` of E with that sum as the variable."""
    if sym not in _SENSITIVITIES:
        _SENSITIVITIES[sym] = _sensitivities(sym)
    return dict(_SENSITIVITIES[sym])


def _sensitivities(sym: SymbolicNetwork) -> dict:
    top = sym.network.depth - 1
    free = [sp.Dummy(f"z{j}") for j in range(len(sym.z[top]))]
    error = sym.error.xreplace(dict(zip(sym.z[top], free)))
    back = dict(zip(free, sym.z[top]))
    return {Sensitivity(top, j): sp.diff(error, v).xreplace(back) for j, v in enumerate(free, start=1)}


def expand_names(expr, sym: SymbolicNetwork, extra: dict | None = None):
    """``expr`` with the names a derivation defines replaced by what they stand for: aₖ and S by the
    softmax, ∂E/∂ᴸ⁻¹zⱼ by its derivative, and ``extra`` (e.g. ˡzᵢ by its weighted sum)."""
    table = dict(extra or {})
    if sym.network.activations[-1].name == "softmax":
        total = sp.Add(*(Exp(z) for z in sym.z[-1]))
        table[SoftmaxSum()] = total
        table.update({OutputName(k): Exp(z) / total for k, z in enumerate(sym.z[-1], start=1)})
    if expr.atoms(Sensitivity):
        table.update(sensitivities(sym))
    for _ in range(4):  # names written with names: a few rounds reach the bottom
        expr = expr.xreplace(table)
    return expr
