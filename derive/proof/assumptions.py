"""What a proof assumes of its inputs, stated and applied."""

from __future__ import annotations

import sympy as sp

from gradproof.derive.model.notation import sub
from gradproof.derive.symbolic.network import SymbolicNetwork


def target_assumptions(sym: SymbolicNetwork) -> tuple[dict, tuple[str, ...]]:
    """What the loss assumes of the targets, as a substitution and in words."""
    if sym.network.loss.targets != "probabilities":
        return {}, ()
    *rest, last = sym.y
    others = "".join(f" − y{sub(k)}" for k in range(1, len(sym.y)))
    return ({last: 1 - sp.Add(*rest)},
            (f"the targets are probabilities (Σₖ yₖ = 1), so y{sub(len(sym.y))} = 1{others} is substituted",))
