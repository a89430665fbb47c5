"""The symbolic verbs: the main job (``gradproof`` alone), ``derive`` and ``prove``."""

from __future__ import annotations

import importlib
import json

from gradproof.cli.common import EXIT_FAILED, EXIT_OK, has_definitions, network_from_args
from gradproof.derive.model.activations import ACTIVATIONS, Elementwise, get_activation
from gradproof.derive.model.layer_net import has_pooling
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.errors import InputError
from gradproof.derive.proof.general import ASSUMED, prove_general
from gradproof.derive.model.losses import LOSSES, get_loss
from gradproof.derive.symbolic.recurrence import PSI, PsiRecurrence
from gradproof.derive.proof import sealed
from gradproof.derive.usercode.loading import load_function
from gradproof.derive.model.network import Network
from gradproof.derive.model.notation import weight_text
from gradproof.derive.render.printing import leading, text, z_abbreviations
from gradproof.derive.proof.prove import SYMBOLIC_CONV_LIMIT, prove
from gradproof.derive.proof.randomized import check_rounds
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
    if args.rounds is not None and args.method != "random":
        raise InputError(f"--rounds is for --method random, not {args.method}")
    args.rounds = 2 if args.rounds is None else args.rounds
    if args.method == "random":
        check_rounds(args.rounds)
    network = network_from_args(args)
    recurrence = load_recurrence(args.recurrence, network) if args.recurrence else PSI
    proof = prove(network, recurrence, method=args.method, progress=None, rounds=args.rounds,
                  backend=args.backend)
    if args.json:
        print(json.dumps(proof.to_dict(), ensure_ascii=False))
    else:
        print(f"Proof for {proof.network.describe()}")
        print(proof_summary(proof))
    return EXIT_OK if proof.ok else EXIT_FAILED


def load_recurrence(spec: str, network: Network):
    """The user's recurrence from FILE.py:NAME, loaded (and a class instantiated) under the guard, with
    gradproof's shared state checked around the import (a file that patches gradproof is an error)."""
    try:
        recurrence = sealed.run(load_function, spec, "--recurrence", network=network, what=f"--recurrence {spec}")
    except InputError as error:  # the loader's own message, not "… raised InputError: …"
        raise (error.__cause__ if isinstance(error.__cause__, InputError) else error) from None
    if isinstance(recurrence, type):
        if not issubclass(recurrence, PsiRecurrence):
            raise InputError(f"--recurrence: {spec} is a class but not a PsiRecurrence: give a PsiRecurrence "
                             "subclass or a function of the SymbolicNetwork")
        recurrence = sealed.run(recurrence, network=network, what=f"{recurrence.__name__}()")
    return recurrence


def run_general(args) -> int:
    """``prove --method general``: every architecture, for the given (or every) activation and loss."""
    if args.recurrence:
        raise InputError("--method general proves the source text's recurrence; prove your own with "
                         "--method exact, layerwise or random on a network")
    if args.layers or args.no_bias:
        raise InputError("--method general proves every architecture, with and without biases: drop "
                         f"{'--layers' if args.layers else '--no-bias'} (or prove one network with --method exact)")
    if has_definitions(args):
        hidden = ", ".join(name for name, act in ACTIVATIONS.items() if isinstance(act, Elementwise))
        raise InputError(f"--method general proves the built-in activations ({hidden}) and losses "
                         f"({', '.join(LOSSES)}); prove your own on a network: drop --method general, give --layers")
    if args.rounds is not None or args.backend == "symengine":
        raise InputError(f"--method general takes no {'--rounds' if args.rounds is not None else '--backend'}: "
                         "it proves the code at symbolic widths, with sympy")
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
        print("\n".join(f"  lemma {lemma.name}: {lemma.statement}: {lemma.status}"
                        + (f" ({lemma.detail})" if lemma.detail else "") for lemma in proof.lemmas))
        print(f"assumed: {ASSUMED}")
        verdict = f"proven {proof.statement}" if proof.ok else "NOT proven: a lemma failed"
        print(f"{sum(l.status == 'proven' for l in proof.lemmas)}/{len(proof.lemmas)} lemmas proven in "
              f"{proof.seconds:.2f} s: {verdict}.")
    return EXIT_OK if proof.ok else EXIT_FAILED


def _short(printed: str, limit: int = 160) -> str:
    return printed if len(printed) <= limit else printed[: limit - 1] + "…"


def proof_summary(proof: Proof) -> str:
    """Per-layer counts, lemmas, failures with their counterexamples, notes, method and verdict."""
    counted = "agree at random points" if proof.method == "random" else "proven"
    lines = [f"  layer {layer}: {proven}/{total} weights {counted}" for layer, proven, total in proof.by_layer()]
    lines += [f"  lemma: {lemma.statement}: {lemma.status}" + (f" ({lemma.detail})" if lemma.detail else "")
              for lemma in proof.lemmas]
    lines += [f"  assuming {assumption}" for assumption in proof.assumptions]
    shown = proof.refuted or proof.undecided or proof.conditions
    names = z_abbreviations(SymbolicNetwork(proof.network)) if shown else {}
    for result in proof.refuted + proof.undecided:
        lines += _failure(result, names)
    lines += [f"note: {note}" for note in proof.notes]
    lines += [f"diagnosis: {sentence}" for sentence in proof.diagnosis]
    lines.append(f"method: {proof.method} ({proof.method_description})")
    lines.append(f"backend: {proof.backend_note or proof.backend}")
    where = _where(proof, names)
    if proof.ok:
        verdict = f"{proof.recurrence} is correct for this network{where}"
    else:
        verdict = f"{proof.recurrence} is NOT proven: {len(proof.refuted)} weight(s) refuted"
        if proof.undecided:
            verdict += f", {len(proof.undecided)} undecided"
        if any(lemma.status != "proven" for lemma in proof.lemmas):
            verdict += ", a lemma not proven"
    lines.append(f"{proof.proven}/{proof.total} weights {counted} in {proof.seconds:.2f} s: {verdict}.")
    return "\n".join(lines)


def _failure(result, names) -> list[str]:
    if result.counterexample is not None:
        why = result.counterexample.describe()
    else:
        why = result.reason or "no counterexample found"
    lines = [f"  {result.status}: ∂E/∂{weight_text(*result.weight)}: {why}"]
    undefined = result.counterexample is not None and result.counterexample.claimed is None
    if result.residual is not None and not undefined:
        lines.append(f"      residual (∂E/∂w by sympy.diff minus the recurrence's entry, expanded): {leading(result.residual, names)}")
    return lines


def _where(proof: Proof, names) -> str:
    """" where …" for the conditions entries are proven under (a denominator, a Heaviside argument)."""
    if not proof.conditions:
        return ""
    shown = [f"{_short(text(condition, names), 60)} ≠ 0" for condition in proof.conditions[:4]]
    more = f" and {len(proof.conditions) - 4} more" if len(proof.conditions) > 4 else ""
    return " where " + ", ".join(shown) + more + " (the entries divide by these, or switch at them)"
