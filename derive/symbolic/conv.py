"""A convolution layer in sympy: its weighted sums, and the two steps of the Ψ recurrence through it.

The index arithmetic is :mod:`gradproof.derive.model.conv_arrays`, the code the numeric half runs, here on
object arrays of sympy expressions (one sample). A layer's input and output are columns in torch's
(C, H, W) order; output unit u (1 … O·Ho·Wo) is channel i at position p, u − 1 = (i − 1)·Ho·Wo + p.

    z[l]ᵢ,ₚ = W̄[l]ᵢ · X̄[l]ₚ                  (X̄[l]ₚ: the patch at p, the bias input 1 first)
    ∂E/∂ˡwʲᵢ = Σₚ ˡΨᵢ,ₚ · X̄[l]ʲₚ             (Ψ correlated with the layer's input)
    Ψ[l−1] = (the transposed convolution of Ψ[l] with W̄[l]'s kernel) ⊙ a'(z[l−1])
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from gradproof.derive.model.conv_arrays import TRANSPOSED, kernel_of, patches, to_flat, to_maps, with_ones


def _objects(values) -> np.ndarray:
    return np.array(list(values), dtype=object)


def patch_rows(network, layer: int, inputs) -> np.ndarray:
    """X̄[l]ₚ for every position p of a convolution: (Ho·Wo, cols), from the layer's input column."""
    spec = network.layers[layer]
    maps = to_maps(_objects(inputs).reshape(1, -1), spec.in_shape)
    rows = with_ones(patches(maps, spec.kernel, spec.stride, spec.padding), network.bias)
    return rows.reshape(-1, rows.shape[-1])


def _layer_input(sym, layer: int) -> list:
    """The layer's input column without the bias input."""
    return list(sym.xbar[layer])[int(sym.network.bias):]


def _wbar(sym, layer: int) -> np.ndarray:
    return np.array(sym.wbar[layer].tolist(), dtype=object)


def weighted_sums(sym, layer: int, xbar) -> sp.ImmutableMatrix:
    """z[l] as a column: W̄[l]·X̄[l] for a dense layer, W̄[l]ᵢ·X̄[l]ₚ at every channel i and position p for
    a convolution (``xbar``: the layer's input column with the bias input first)."""
    network = sym.network
    if network.layers[layer].kind != "conv":
        return sp.ImmutableMatrix(sym.wbar[layer] * xbar)
    rows = patch_rows(network, layer, list(xbar)[int(network.bias):])
    z = rows @ _wbar(sym, layer).T                                        # (positions, O)
    return sp.ImmutableMatrix(list(z.T.reshape(-1)))


def unit_terms(sym, layer: int, unit: int) -> list[tuple]:
    """(weight, input) for every term of the weighted sum ˡz_unit, in W̄'s column order."""
    spec = sym.network.layers[layer]
    if spec.kind != "conv":
        return list(zip(sym.wbar[layer][unit - 1, :], sym.xbar[layer]))
    channel, position = divmod(unit - 1, spec.positions)
    rows = patch_rows(sym.network, layer, _layer_input(sym, layer))
    return list(zip(sym.wbar[layer][channel, :], rows[position]))


def weight_terms(sym, layer: int, row: int, col: int) -> list[tuple[int, sp.Expr]]:
    """For a convolution's weight at (row, col) of W̄[l]: (unit index of z[l], 0-based; the input it
    multiplies there) for every position p the weight is used at."""
    spec = sym.network.layers[layer]
    rows = patch_rows(sym.network, layer, _layer_input(sym, layer))
    return [(row * spec.positions + p, rows[p, col]) for p in range(spec.positions)]


def weight_gradient(sym, layer: int, psi) -> sp.ImmutableMatrix:
    """∂E/∂W̄[l] = Σₚ Ψ[l]ₚ ⊗ X̄[l]ₚ: Ψ correlated with the layer's input."""
    spec = sym.network.layers[layer]
    rows = patch_rows(sym.network, layer, _layer_input(sym, layer))
    by_channel = _objects(psi).reshape(spec.channels, spec.positions)
    return sp.ImmutableMatrix((by_channel @ rows).tolist())


def back(sym, layer: int, psi, transposed=TRANSPOSED) -> list[sp.Expr]:
    """Ψ[l] brought to the layer's input by the transposed convolution (before ⊙ a'), as a column
    (``transposed``: its steps, :class:`gradproof.derive.model.conv_arrays.TransposedConvolution`)."""
    spec = sym.network.layers[layer]
    maps = to_maps(_objects(psi).reshape(1, -1), spec.out_shape)
    below = transposed(maps, kernel_of(_wbar(sym, layer), spec), spec.stride, spec.padding, spec.in_shape[1:])
    return [sp.sympify(value) for value in to_flat(below).reshape(-1)]
