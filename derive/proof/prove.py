"""``prove``: a recurrence against the definition, by the method asked for.

- ``exact``: weight by weight, each direct form against the recurrence's entry (:mod:`.exact`);
- ``layerwise``: the chain-rule identities layer by layer, linear in the weights (:mod:`.layerwise`);
- ``random``: both sides exactly at random points of GF(2⁶¹ − 1), with a stated error probability
  (:mod:`.randomized`).
"""

from __future__ import annotations

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof import symengine_backend
from gradproof.derive.proof.conv_random import prove_conv_random
from gradproof.derive.proof.exact import Recurrence, prove_exact
from gradproof.derive.proof.layerwise import prove_layerwise
from gradproof.derive.proof.randomized import prove_random
from gradproof.derive.proof.result import Proof
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import PSI

METHODS = ("exact", "layerwise", "random")
BACKENDS = ("sympy", "symengine")
#: the most weights of a convolutional network the exact method (and derive) will expand
SYMBOLIC_CONV_LIMIT = 2000


def network_of(network) -> Network:
    return network.network if isinstance(network, SymbolicNetwork) else network


def prove(network: Network | SymbolicNetwork, recurrence: Recurrence = PSI, diagnose: bool = True,
          method: str = "exact", progress: bool | None = False, rounds: int = 2, backend: str = "sympy") -> Proof:
    """Prove that ``recurrence`` gives ∂E/∂w as ``sympy.diff`` of E does, by ``method``:

    - ``exact``: weight by weight, each direct form against the recurrence's entry (the default);
    - ``layerwise``: the chain-rule identities layer by layer, linear in the weights
      (:mod:`gradproof.derive.proof.layerwise`);
    - ``random``: both sides exactly at ``rounds`` random points of GF(2⁶¹ − 1), with a stated error
      probability (:mod:`gradproof.derive.proof.randomized`).

    ``recurrence`` is a :class:`PsiRecurrence` (or subclass), or for ``exact`` also a function of the
    :class:`SymbolicNetwork` returning one matrix per layer shaped like W̄[l]. ``backend="symengine"``
    (the ``fast`` extra) runs the exact method's differentiation in symengine, with identical verdicts
    (:mod:`gradproof.derive.proof.symengine_backend`). When something is
    refuted, ``diagnose`` compares the claimed gradients with the catalogued mistakes
    (:mod:`gradproof.derive.symbolic.mistakes`) on networks of up to ``DIAGNOSIS_LIMIT`` weights. ``progress``: a bar on
    stderr (None: where stderr is a terminal)."""
    if method not in METHODS:
        raise InputError(f"unknown proof method {method!r}: choose one of {', '.join(METHODS)} (or general)")
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "symengine":
        if method != "exact":
            raise InputError("--backend symengine speeds up --method exact only")
        symengine_backend.require()
    if method != "exact":
        net = network_of(network)
        if net.has_conv and method == "random":  # convolutions at their real size (:mod:`.conv_random`)
            return prove_conv_random(net, recurrence, rounds=rounds, progress=progress)
        if method == "layerwise":
            net.require_dense("--method layerwise")
            return prove_layerwise(net, recurrence, progress)
        return prove_random(net, recurrence, rounds=rounds, progress=progress)
    if network_of(network).has_conv and network_of(network).n_weights > SYMBOLIC_CONV_LIMIT:
        raise InputError(f"the exact method expands every weight's ∂E/∂w: {network_of(network).n_weights} weights "
                         f"is more than {SYMBOLIC_CONV_LIMIT} for a convolutional network; prove it at its real "
                         "size with --method random")
    return prove_exact(network, recurrence, diagnose, backend, progress)
