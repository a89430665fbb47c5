"""``gradproof derive`` and ``gradproof latex`` for a network of layers: a ``--layers`` spec with a
``pool<k>`` token (``1x6x6,conv2k3,pool2,3 --activation relu --loss softmax-ce``) is a network of
convolution, max-pooling and dense layers (:mod:`gradproof.derive.model.layer_net`): its derivation in the
source text's order and its proof by tracing (:mod:`gradproof.derive.proof.layer_net`).
"""

from __future__ import annotations

import argparse
import json

from gradproof.cli.common import EXIT_FAILED, EXIT_OK
from gradproof.derive.errors import InputError
from gradproof.derive.model.layer_net import LayerNet
from gradproof.derive.proof.layer_net import prove_network
from gradproof.derive.render.layer_net_doc import latex, proof_rows, text
from gradproof.derive.render.layer_net_rows import chain_rows, forward_rows, recurrence_rows

#: the proof traces every weight: past this many the derivation is printed without it
PROOF_LIMIT = 400


def layer_network(args: argparse.Namespace) -> LayerNet:
    if getattr(args, "no_bias", False):
        raise InputError("a network with max pooling is built with biases: drop --no-bias")
    return LayerNet.from_spec(args.layers, args.activation or "sigmoid", args.loss or "half-sse")


def _proof(net: LayerNet, seed: int = 0):
    """The proof, or None and why not (too many weights, or code the tracer cannot follow)."""
    if net.n_weights > PROOF_LIMIT:
        return None, f"not proven here: {net.n_weights} weights is more than {PROOF_LIMIT} to trace"
    try:
        return prove_network(net, seed), ""
    except InputError as error:   # cannot trace: the operation and where
        return None, f"not proven: {error}"


def run_derive(args: argparse.Namespace) -> int:
    net = layer_network(args)
    proof, why = _proof(net)
    if getattr(args, "json", False):
        print(json.dumps({"ok": proof is not None and proof.ok, "network": net.spec(), "weights": net.n_weights,
                          "forward": [t for _, t in forward_rows(net)], "chain_rule": [t for _, t in chain_rows(net)],
                          "recurrence": [t for _, t in recurrence_rows(net)],
                          "proof": None if proof is None else [dict(zip(("what", "sizes", "entries", "status"), row))
                                                               for row in proof_rows(proof)],
                          "why_not_proven": why}, ensure_ascii=False))
    else:
        print(text(net, proof) + (f"\n\nThe proof: {why}" if why else ""))
    return EXIT_OK if proof is not None and proof.ok else EXIT_FAILED


def latex_document(args: argparse.Namespace):
    """The .tex of the network's derivation and proof, and the proof (None: not proven here)."""
    net = layer_network(args)
    proof, why = _proof(net, getattr(args, "seed", 0) or 0)
    return latex(net, proof, why), proof
