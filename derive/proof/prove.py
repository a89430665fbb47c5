"""``prove``: a recurrence against the definition, by the method asked for.

- ``exact``: weight by weight, each direct form against the recurrence's entry (:mod:`.exact`);
- ``layerwise``: the chain-rule identities layer by layer, linear in the weights (:mod:`.layerwise`);
- ``random``: both sides exactly at random points modulo random primes, with a stated error probability
  (:mod:`.randomized`).
"""

from __future__ import annotations

import dataclasses
import sys
from contextlib import contextmanager

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network
from gradproof.derive.proof import symengine_backend
from gradproof.derive.proof.conv_random import prove_conv_random
from gradproof.derive.proof.exact import Recurrence, prove_exact
from gradproof.derive.proof.layerwise import prove_layerwise
from gradproof.derive.proof.randomized import check_rounds, prove_random
from gradproof.derive.proof.result import Proof
from gradproof.derive.proof.sealed import fresh_rules, snapshot, unchanged_since
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.recurrence import PSI
from gradproof.derive.usercode import guard

METHODS = ("exact", "layerwise", "random")
#: the most weights each method is started on: beyond, it would not finish in hours (or memory)
LIMITS = {"exact": 20_000, "layerwise": 5_000_000, "random": 5_000_000}
#: the exact method's backends: "auto" (the default) is symengine where it is installed and can carry the
#: network's E, otherwise sympy
BACKENDS = ("auto", "sympy", "symengine")
#: the most weights of a convolutional network the exact method (and derive) will expand
SYMBOLIC_CONV_LIMIT = 2000


def network_of(network) -> Network:
    return network.network if isinstance(network, SymbolicNetwork) else network


@guard.one_check
def prove(network: Network | SymbolicNetwork, recurrence: Recurrence = PSI, diagnose: bool = True,
          method: str = "exact", progress: bool | None = False, rounds: int = 2, backend: str = "auto",
          seed: int | None = None) -> Proof:
    """Prove that ``recurrence`` gives ∂E/∂w as ``sympy.diff`` of E does, by ``method``:

    - ``exact``: weight by weight, each direct form against the recurrence's entry (the default);
    - ``layerwise``: the chain-rule identities layer by layer, linear in the weights
      (:mod:`gradproof.derive.proof.layerwise`);
    - ``random``: both sides exactly at ``rounds`` (1 … 1000) random points, each modulo a prime drawn at
      random (``seed``: reproducibly), with a stated error probability
      (:mod:`gradproof.derive.proof.randomized`).

    ``recurrence`` is a :class:`PsiRecurrence` (or subclass), or for ``exact`` and ``random`` also a
    function of the :class:`SymbolicNetwork` returning one matrix per layer shaped like W̄[l]. ``backend``, for
    ``exact``: "auto" (the default) differentiates in symengine where it is installed (the ``fast`` extra)
    and can carry E, otherwise in sympy; "symengine" insists (an E it cannot carry is an InputError);
    "sympy" never uses it. The verdicts are the same (:mod:`gradproof.derive.proof.symengine_backend`); the
    proof's ``backend`` and ``backend_note`` say which decided and why. When something is
    refuted, ``diagnose`` compares the claimed gradients with the catalogued mistakes
    (:mod:`gradproof.derive.symbolic.mistakes`) on networks of up to ``DIAGNOSIS_LIMIT`` weights. ``progress``: a bar on
    stderr (None: where stderr is a terminal)."""
    net = network_of(network)
    _check_options(net, method, backend)
    fresh_rules(net)
    before = snapshot(net)
    with any_length_integers():
        return _proved(net, recurrence, diagnose, method, progress, rounds, backend, seed, before)


@contextmanager
def any_length_integers():
    """Exact integers of any length print while a proof runs (Python refuses to turn one of more than 4,300
    digits into text by default, and an entry may hold 10⁵⁰⁰⁰); the limit is restored afterwards."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(limit)


def _proved(net, recurrence, diagnose, method, progress, rounds, backend, seed, before) -> Proof:
    try:
        if method == "layerwise":
            net.require_dense("--method layerwise")
            proof = prove_layerwise(net, recurrence, progress)
        elif method == "random" and net.has_conv:  # convolutions at their real size (:mod:`.conv_random`)
            proof = prove_conv_random(net, recurrence, rounds=check_rounds(rounds), progress=progress)
        elif method == "random":
            proof = prove_random(net, recurrence, rounds=rounds, seed=seed, progress=progress)
        else:
            proof = prove_exact(net, recurrence, diagnose, backend, progress)
        unchanged_since(net, before)
        if method != "exact":
            proof = dataclasses.replace(proof, backend="sympy", backend_note=f"sympy: the {method} method "
                                        "computes with sympy (symengine speeds up the exact method only)")
        return proof
    except RecursionError:
        raise InputError("the expressions are nested too deeply for sympy to take apart (RecursionError): "
                         "write the recurrence's entries with fewer nested function applications") from None


def _check_options(net: Network, method: str, backend: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown proof method {method!r}: choose one of {', '.join(METHODS)} (or general)")
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "symengine":
        if method != "exact":
            raise InputError("--backend symengine speeds up --method exact only")
        symengine_backend.require()
    if method == "exact" and net.has_conv and net.n_weights > SYMBOLIC_CONV_LIMIT:
        raise InputError(f"the exact method expands every weight's ∂E/∂w: {net.n_weights} weights is more than "
                         f"{SYMBOLIC_CONV_LIMIT} for a convolutional network; prove it at its real size with "
                         "--method random")
    if net.n_weights > LIMITS[method]:
        raise InputError(f"{net.describe()}: the {method} proof is not started on more than {LIMITS[method]:,} "
                         "weights (it would not finish)" + ("; try --method layerwise or random" if method == "exact"
                                                           else "; --method general covers every architecture"))
