"""The symbolic commands: the main job, ``derive`` and ``prove``."""

from __future__ import annotations

import json

from derive.cli_base import EXIT_FAILED, EXIT_OK, add_network_options, network_from_args
from derive.activations import Elementwise, get_activation
from derive.derivation import Derivation
from derive.errors import InputError
from derive.general import ASSUMED, prove_general
from derive.losses import LOSSES, get_loss
from derive.gradients import PSI, PsiRecurrence
from derive.loading import load_function
from derive.network import Network
from derive.printing import text, weight_text, z_abbreviations
from derive.proof import Proof, prove
from derive.symbolic import SymbolicNetwork


def register(subparsers) -> None:
    derive = subparsers.add_parser(
        "derive", help="the forward phase, the Ψ recurrence and chosen ∂E/∂w, derived by the definition",
        description="Write the network out in the source text's notation: the forward phase, the Ψ "
                    "recurrence and the derived ∂E/∂w of the chosen weights (by sympy.diff).")
    add_network_options(derive)
    derive.add_argument("--weight", action="append", metavar="L,J,I",
                        help="a weight ˡwʲᵢ: layer L, from neuron J (0 = bias), to neuron I; repeat it, "
                             "or 'all' (default: ˡw¹₁ of every layer)")
    derive.set_defaults(run=run_derive)

    prover = subparsers.add_parser(
        "prove", help="prove that the Ψ recurrence equals ∂E/∂w (exact, layerwise, random or general)",
        description="Prove that the Ψ recurrence gives every ∂E/∂w. --method exact (default): "
                    "sympy.diff of E for each weight, compared exactly; layerwise: the chain-rule identities "
                    "layer by layer, linear in the weights; random: both sides exactly at random points "
                    "(Schwartz–Zippel, with its error probability); general: every architecture at once "
                    "(symbolic widths and induction; needs no --layers). Exit status 0: all proven; 1: not.")
    add_network_options(prover)
    prover.set_defaults(activation=None, loss=None)  # general defaults to every activation and loss
    prover.add_argument("--method", choices=("exact", "layerwise", "random", "general"), default="exact",
                        help="how to prove it (default exact)")
    prover.add_argument("--rounds", type=int, default=2, help="random points for --method random (default 2)")
    prover.add_argument("--backend", choices=("sympy", "symengine"), default="sympy",
                        help="symengine: the exact method's differentiation in C++ (pip install "
                             "'gradproof[fast]'), same verdicts")
    prover.add_argument("--recurrence", metavar="FILE.py:NAME",
                        help="prove your own recurrence instead: a function of the SymbolicNetwork returning "
                             "one sympy matrix per layer, or a PsiRecurrence subclass (see the README)")
    prover.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    prover.set_defaults(run=run_prove)


def run_main_job(args) -> int:
    """``gradproof`` alone: the source text's network, a short derivation, the proof and its verdict."""
    network = Network.source_text()
    proof = prove(network)
    print("gradproof: the source text's network, derived and proven\n")
    print(Derivation.of(network).to_text(proof=proof))
    print()
    print(proof_summary(proof))
    return EXIT_OK if proof.ok else EXIT_FAILED


def run_derive(args) -> int:
    network = network_from_args(args)
    weights = None
    if args.weight:
        weights = "all" if "all" in args.weight else args.weight
    print(Derivation.of(network, weights).to_text())
    return EXIT_OK


def run_prove(args) -> int:
    if args.method == "general":
        return run_general(args)
    if args.rounds < 1:
        raise InputError(f"--rounds must be at least 1, not {args.rounds}")
    args.activation, args.loss = args.activation or "sigmoid", args.loss or "half-sse"
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


def _short(printed: str, limit: int = 160) -> str:
    return printed if len(printed) <= limit else printed[: limit - 1] + "…"


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
        lines.append(f"      residual (direct − claimed, expanded): {_short(text(result.residual, names))}")
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
