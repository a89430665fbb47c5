"""gradproof's own layer rules proven by tracing: the numpy code the numeric check runs, read as a layer.

The Ψ recurrence in matrix form takes two steps through every weight layer, and they are the code
:mod:`gradproof.numeric.compiled.matrix` (dense) and :mod:`gradproof.numeric.compiled.conv` (convolution)
run on every check: from Ψ = ∂E/∂z of the layer's output,

    ∂E/∂W̄ = Σ over samples (and positions) of Ψ ⊗ X̄          (``weight_gradient``)
    ∂E/∂x  = W̄[:, 1:]ᵀ·Ψ, or the transposed convolution of Ψ   (``propagate`` / ``back``)

Here each layer is written as a forward/backward pair whose forward is the same code's z = W̄·X̄ and whose
backward calls exactly those methods, and :func:`gradproof.derive.proof.layer.prove_layer` proves every
entry of both gradients against sympy's derivative of ⟨G, z⟩. The activation's a'(z) ⊙ is not part of
the pair: its rules are the lemmas of every proof (σ' = σ·(1 − σ), …, checked against the closed forms).

**Sizes.** The dense step is also proven at symbolic widths (``prove --method general``: every [n0, …,
nL]); the convolution's index arithmetic (strides, padding, the trimmed rows) is not something sympy
proves at symbolic sizes, so it is proven on a **ladder of concrete configurations** chosen to reach
every branch of that code (stride 1, 2 and 3, padding 0 and 1, kernels 1 to 3, rows the stride never
reaches, several channels and samples, no bias) — a proof for these configurations only, and the result
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradproof.derive.model.network import Network
from gradproof.derive.proof.layer import prove_layer
from gradproof.derive.proof.layer_result import LayerProof
from gradproof.numeric.compiled.conv import CONV_PSI, ConvForward, xbar_rows
from gradproof.numeric.compiled.matrix import MATRIX_PSI, Forward, with_bias

#: dense configurations: (inputs n, outputs m, samples B, bias)
DENSE_LADDER = ((1, 1, 1, True), (2, 3, 1, True), (3, 2, 2, True), (4, 3, 3, True), (3, 2, 2, False))
#: convolution configurations: (C, H, W, O, k, stride, padding, samples B, bias)
CONV_LADDER = ((1, 3, 3, 1, 1, 1, 0, 1, True), (1, 4, 4, 2, 3, 1, 1, 1, True), (2, 4, 5, 2, 2, 1, 0, 1, True),
               (1, 5, 4, 2, 3, 2, 1, 2, True), (2, 5, 5, 1, 2, 2, 0, 1, True), (1, 6, 6, 2, 3, 3, 1, 1, True),
               (1, 4, 4, 2, 2, 2, 1, 1, True), (2, 4, 4, 2, 3, 1, 1, 1, False))
SIZES_NOTE = ("proven at the configurations listed, by tracing gradproof's own numpy code; the dense step is "
              "also proven for every width by `gradproof prove --method general`; the convolution's index "
              "arithmetic is not proven at symbolic sizes (sympy cannot), only on this ladder")


@dataclass(frozen=True)
class RuleProof:
    """The proof of one layer rule at one configuration."""

    layer: str              # "dense" or "conv"
    configuration: str      # e.g. "C=1 H=4 W=4 O=2 k=3 s=1 p=1 B=1 bias"
    proof: LayerProof

    def to_dict(self) -> dict:
        proof = self.proof
        return {"layer": self.layer, "configuration": self.configuration, "status": proof.status,
                "proven": proof.proven, "total": proof.total, "seconds": round(proof.seconds, 3),
                "sizes": {k: list(v) for k, v in proof.sizes.items()}}


class _Rule:
    def pair(self):
        """forward(x, wbar) and backward(psi, cache) as plain functions (bound methods of one object would be
        read as a layer class)."""
        def forward(x, wbar):
            return self.forward(x, wbar)

        def backward(psi, cache):
            return self.backward(psi, cache)

        return forward, backward


class DenseRule(_Rule):
    """The dense layer z = W̄·X̄ as a pair: x (n, B) columns, wbar (m, n + bias)."""

    def __init__(self, n: int, m: int, bias: bool, recurrence=MATRIX_PSI):
        # layer 0 has the identity activation, so layer 1's propagate is W̄[1][:, 1:]ᵀ·Ψ times a' = 1
        self.network = Network.from_spec([n, n, m], activation="identity", bias=bias)
        self.recurrence = recurrence

    def forward(self, x, wbar):
        xbar = with_bias(x, self.network.bias)
        z = wbar @ xbar
        return z, (Forward((None, xbar), (x, z), z, None), wbar)

    def backward(self, psi, cache):
        fwd, wbar = cache
        dwbar = self.recurrence.weight_gradient(self.network, fwd, 1, psi)
        dx = self.recurrence.propagate(self.network, (None, wbar), fwd, 1, psi)
        return dx, dwbar


class ConvRule(_Rule):
    """The convolution z = W̄·X̄ₚ at every position as a pair: x (B, H, W, C) maps, wbar (O, C·k·k + bias)."""

    def __init__(self, c: int, h: int, w: int, o: int, k: int, stride: int, padding: int, bias: bool,
                 recurrence=CONV_PSI):
        self.network = Network.from_spec(f"{c}x{h}x{w},conv{o}k{k}s{stride}p{padding},1", activation="identity",
                                         bias=bias)
        self.recurrence = recurrence

    def forward(self, x, wbar):
        xbar = xbar_rows(self.network, 0, x)
        z = xbar @ wbar.T
        return z, (ConvForward((x,), (xbar,), (z,), z, None), wbar)

    def backward(self, psi, cache):
        fwd, wbar = cache
        dwbar = self.recurrence.weight_gradient(self.network, fwd, 0, psi)
        dx = self.recurrence.back(self.network, (wbar,), 0, psi)
        return dx, dwbar


def prove_dense(n: int, m: int, batch: int, bias: bool = True, seed: int = 0, recurrence=MATRIX_PSI) -> RuleProof:
    """The dense rules of ``recurrence`` (gradproof's own by default; a planted mistake for a control)."""
    rng = np.random.default_rng(seed)
    rule = DenseRule(n, m, bias, recurrence)
    args = (rng.standard_normal((n, batch)), rng.standard_normal(rule.network.shape(1)))
    proof = prove_layer(*rule.pair(), args, kind="pair", name="dense", seed=seed)
    return RuleProof("dense", f"n={n} m={m} B={batch}" + (" bias" if bias else " no-bias"), proof)


def prove_conv(c: int, h: int, w: int, o: int, k: int, stride: int, padding: int, batch: int = 1,
               bias: bool = True, seed: int = 0, recurrence=CONV_PSI) -> RuleProof:
    """The convolution's rules of ``recurrence`` (gradproof's own by default; a planted mistake for a control)."""
    rng = np.random.default_rng(seed)
    rule = ConvRule(c, h, w, o, k, stride, padding, bias, recurrence)
    args = (rng.standard_normal((batch, h, w, c)), rng.standard_normal(rule.network.shape(0)))
    proof = prove_layer(*rule.pair(), args, kind="pair", name="conv", seed=seed)
    return RuleProof("conv", f"C={c} H={h} W={w} O={o} k={k} s={stride} p={padding} B={batch}"
                     + (" bias" if bias else " no-bias"), proof)


def prove_own_rules(seed: int = 0) -> list[RuleProof]:
    """Every configuration of both ladders."""
    return ([prove_dense(*config, seed=seed) for config in DENSE_LADDER]
            + [prove_conv(*config, seed=seed) for config in CONV_LADDER])
