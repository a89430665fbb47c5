"""The convolution's index arithmetic on arrays of any element type: floats (the numeric half), Python
integers modulo a prime (the randomized proof) and sympy expressions (the symbolic forms at small sizes).

One implementation serves all three, so the proof is about the code the check runs. Maps are
channels-last inside, (samples, H, W, C); a patch lists its entries in W̄'s column order (c, u, v).

Forward, with x̃ the input padded by p zeros on each side::

    z[b, i, j, o] = W̄[o, 0] + Σ_{c,u,v} W̄[o, 1 + c·k² + u·k + v] · x̃[b, i·s + u, j·s + v, c]

Backward, for Ψ = ∂E/∂z: ∂E/∂W̄ = Σ over samples and positions of Ψ ⊗ X̄ (Ψ correlated with the input),
and Ψ reaches the input through the transposed convolution: dilate Ψ by s, pad it by k − 1, correlate it
with the kernel rotated by 180° and its channel axes swapped, then trim the padding p
(:class:`TransposedConvolution`, one method per step so a planted mistake overrides just one).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pad_maps(maps: np.ndarray, padding: int) -> np.ndarray:
    """p zeros on each side of the two spatial axes of (B, H, W, C) maps."""
    if padding == 0:
        return maps
    b, h, w, c = maps.shape
    out = np.zeros((b, h + 2 * padding, w + 2 * padding, c), dtype=maps.dtype)  # object arrays: Python 0s
    out[:, padding:padding + h, padding:padding + w] = maps
    return out


def patches(maps: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """(B, H, W, C) → (B, Ho, Wo, C·k·k): every receptive field as a row, in W̄'s column order (c, u, v)."""
    view = sliding_window_view(pad_maps(maps, padding), (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
    b, ho, wo = view.shape[:3]
    return view.reshape(b, ho, wo, -1)


def with_ones(rows: np.ndarray, bias: bool) -> np.ndarray:
    """X̄ from rows of inputs: the bias input 1 in front of each (last axis), or the rows as they are."""
    if not bias:
        return rows
    ones = np.ones(rows.shape[:-1] + (1,), dtype=rows.dtype)
    return np.concatenate([ones, rows], axis=-1)


def kernel_of(wbar: np.ndarray, layer) -> np.ndarray:
    """The kernel (O, C, k, k) inside W̄ (its columns after the bias)."""
    return wbar[:, int(layer.bias):].reshape(layer.kernel_shape)


def correlate(maps: np.ndarray, kernel: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """The convolution without bias (torch's cross-correlation): (B, H, W, C) → (B, Ho, Wo, O)."""
    rows = patches(maps, kernel.shape[-1], stride, padding)
    return rows @ kernel.reshape(kernel.shape[0], -1).T


def to_flat(maps: np.ndarray) -> np.ndarray:
    """(B, H, W, C) maps as (B, C·H·W) vectors in torch's (C, H, W) order."""
    return maps.transpose(0, 3, 1, 2).reshape(maps.shape[0], -1)


def to_maps(flat: np.ndarray, shape) -> np.ndarray:
    """(B, C·H·W) vectors as (B, H, W, C) maps: the inverse of :func:`to_flat`."""
    c, h, w = shape
    return flat.reshape(flat.shape[0], c, h, w).transpose(0, 2, 3, 1)


class TransposedConvolution:
    """Ψ of a convolution's input from Ψ of its output: ∂E/∂x = Σ over the outputs each input reaches of
    Ψ times the tap that joins them."""

    description = "the transposed convolution"

    def __call__(self, psi: np.ndarray, kernel: np.ndarray, stride: int, padding: int, in_hw) -> np.ndarray:
        k = kernel.shape[-1]
        full = self.correlate(self.pad_full(self.dilate(psi, stride), k), self.flip(kernel))
        return self.trim(full, padding, in_hw)

    def dilate(self, psi, stride):
        """stride − 1 zeros between neighbouring entries of Ψ, on both axes."""
        b, ho, wo, o = psi.shape
        out = np.zeros((b, (ho - 1) * stride + 1, (wo - 1) * stride + 1, o), dtype=psi.dtype)
        out[:, ::stride, ::stride] = psi
        return out

    def pad_full(self, psi, k):
        """k − 1 zeros on each side: every input position a kernel tap reached gets its sum."""
        return pad_maps(psi, k - 1)

    def flip(self, kernel):
        """The transposed convolution's kernel: channel axes swapped, rotated by 180°."""
        return kernel.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]

    def correlate(self, psi, kernel):
        return correlate(psi, kernel, 1, 0)

    def trim(self, full, padding, in_hw):
        """The padded input's Ψ without its p padding rows and columns; rows the forward pass never
        reached (when H + 2p − k is not a multiple of s) get zeros."""
        h, w = in_hw
        grad = np.zeros((full.shape[0], h + 2 * padding, w + 2 * padding, full.shape[-1]), dtype=full.dtype)
        rows, cols = min(full.shape[1], h + 2 * padding), min(full.shape[2], w + 2 * padding)
        grad[:, :rows, :cols] = full[:, :rows, :cols]
        return grad[:, padding:padding + h, padding:padding + w]


TRANSPOSED = TransposedConvolution()
