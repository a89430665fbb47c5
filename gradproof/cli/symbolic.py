"""The symbolic verbs: the main job (``gradproof`` alone), ``derive`` and ``prove``."""

from __future__ import annotations

import importlib
import json

from gradproof.cli.common import EXIT_FAILED, EXIT_OK, network_from_args
from gradproof.derive.model.activations import Elementwise, get_activation
from gradproof.derive.model.layer_net import has_pooling
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.errors import InputError
from gradproof.derive.proof.general import ASSUMED, prove_general
from gradproof.derive.model.losses import LOSSES, get_loss
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence
from gradproof.derive.usercode.loading import load_function
from gradproof.derive.model.network import Network
from gradproof.derive.model.notation import weight_text
from gradproof.derive.render.printing import leading, z_abbreviations
from gradproof.derive.proof.prove import SYMBOLIC_CONV_LIMIT, prove
from gradproof.derive.proof.result import Proof
from gradproof.derive.symbolic.network import SymbolicNetwork


def run_main_job(args) -> int:
    """``gradproof`` alone: the source text's network, a short derivation, the proof and its verdict."""
    network = Network.source_text()
    proof = prove(network)
    if args.json:
        print(json.dumps(proof.to_dict(), ensure_ascii=False))
        return EXIT_OK if proof.ok else EXIT_FAILED
    print("gradproof: the source text's network, derived and proven\n")
    print(Derivation.of(network).to_text(proof=proof))
    print()
    print(proof_summary(proof))
    return EXIT_OK if proof.ok else EXIT_FAILED


def run_derive(args) -> int:
    if has_pooling(args.layers or ""):   # a network of layers with max pooling
        return importlib.import_module("gradproof.cli.layer_networks").run_derive(args)
    network = network_from_args(args)
    if network.has_conv and network.n_weights > SYMBOLIC_CONV_LIMIT:
        raise InputError(f"derive writes every weighted sum out: {network.n_weights} weights is more than "
                         f"{SYMBOLIC_CONV_LIMIT} for a convolutional network; use a smaller one")
    weights = None
    if args.weight:
        weights = "all" if "all" in args.weight else args.weight
    derivation = Derivation.of(network, weights)
    print(json.dumps(derivation.to_dict(), ensure_ascii=False) if args.json else derivation.to_text())
    return EXIT_OK


def run_prove(args) -> int:
    if args.method == "general":
        return run_general(args)
    if args.rounds < 1:
        raise InputError(f"--rounds must be at least 1, not {args.rounds}")
    network = network_from_args(args)
    recurrence = PSI
    if args.recurrence:
        recurrence = load_function(args.recurrence, "--recurrence")
        if isinstance(recurrence, type) and issubclass(recurrence, PsiRecurrence):
            recurrence = recurrence()
    proof = prove(network, recurrence, method=args.method, progress=None, rounds=args.rounds,
                  backend=args.backend)
    if args.json:
        print(json.dumps(proof.to_dict(), ensure_ascii=False))
    else:
        print(f"Proof for {proof.network.describe()}")
        print(proof_summary(proof))
    return EXIT_OK if proof.ok else EXIT_FAILED


def run_general(args) -> int:
    """``prove --method general``: every architecture, for the given (or every) activation and loss."""
    if args.recurrence:
        raise InputError("--method general proves the source text's recurrence; prove your own with "
                         "--method exact, layerwise or random on a network")
    if args.layers or args.no_bias:
        raise InputError("--method general proves every architecture, with and without biases: drop "
                         f"{'--layers' if args.layers else '--no-bias'} (or prove one network with --method exact)")
    activations = tuple(a.strip() for a in args.activation.split(",")) if args.activation else ("generic",)
    for name in activations:
        if not isinstance(get_activation(name), Elementwise):
            raise InputError(f"--method general takes hidden activations; {name} is an output layer "
                             "(softmax-ce proves it)")
    losses = (get_loss(args.loss).name,) if args.loss else tuple(LOSSES)
    proof = prove_general(activations, losses)
    if args.json:
        print(json.dumps(proof.to_dict(), ensure_ascii=False))
    else:
        print("Proof for every architecture")
        print("\n".join(f"  lemma {lemma.name}: {lemma.statement}: {lemma.status}" for lemma in proof.lemmas))
        print(f"assumed: {ASSUMED}")
        verdict = f"proven {proof.statement}" if proof.ok else "NOT proven: a lemma failed"
        print(f"{sum(l.status == 'proven' for l in proof.lemmas)}/{len(proof.lemmas)} lemmas proven in "
              f"{proof.seconds:.2f} s: {verdict}.")
    return EXIT_OK if proof.ok else EXIT_FAILED


def proof_summary(proof: Proof) -> str:
    """Per-layer counts, lemmas, failures with their counterexamples, method and verdict."""
    counted = "agree at random points" if proof.method == "random" else "proven"
    lines = [f"  layer {layer}: {proven}/{total} weights {counted}" for layer, proven, total in proof.by_layer()]
    lines += [f"  lemma: {lemma.statement}: {lemma.status}" for lemma in proof.lemmas]
    lines += [f"  assuming {assumption}" for assumption in proof.assumptions]
    names = z_abbreviations(SymbolicNetwork(proof.network)) if proof.refuted or proof.undecided else {}
    for result in proof.refuted + proof.undecided:
        why = result.counterexample.describe() if result.counterexample else "no counterexample found"
        lines.append(f"  {result.status}: ∂E/∂{weight_text(*result.weight)}: {why}")
        lines.append(f"      residual (direct − claimed, expanded): {leading(result.residual, names)}")
    lines += [f"diagnosis: {sentence}" for sentence in proof.diagnosis]
    lines.append(f"method: {proof.method} ({proof.method_description})")
    if proof.ok:
        verdict = f"{proof.recurrence} is correct for this network"
    else:
        verdict = f"{proof.recurrence} is NOT proven: {len(proof.refuted)} weight(s) refuted"
        if proof.undecided:
            verdict += f", {len(proof.undecided)} undecided"
    counted = "agree at random points" if proof.method == "random" else "proven"
    lines.append(f"{proof.proven}/{proof.total} weights {counted} in {proof.seconds:.2f} s: {verdict}.")
    return "\n".join(lines)
