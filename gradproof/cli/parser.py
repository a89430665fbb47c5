"""The ``gradproof`` argument tree, built from the standard library alone.

Parsing never imports sympy or numpy: ``gradproof --help`` and usage errors answer at once, and each
verb names the module that runs it (``module``, ``handler``), loaded only once it is chosen.
"""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

ACTIVATION_HELP = ("one activation for all layers or one per layer, comma-separated: sigmoid (default), tanh, "
                   "relu, softplus, identity, generic, softmax (output only)")
LOSS_HELP = ("half-sse (default, ½·Σ(a − y)²), mse ((1/n)·Σ(a − y)²), bce (sigmoid output), softmax-ce "
             "(softmax output)")
FD_METHODS = ("complex-step", "central", "richardson", "forward")
PROOF_METHODS = ("exact", "layerwise", "random", "general")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (JSON on stdout under --json) and exit status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


class UsageError(Exception):
    """A command line argparse rejects: reported by :func:`gradproof.cli.main` with exit status 2."""


def _version() -> str:
    try:
        return version("gradproof")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="gradproof",
        description="Prove a hand-derived backpropagation recurrence correct, symbolically and numerically. "
                    "Without a command: the source text's [2,3,3,2] network (biases, sigmoid, ½·Σ(a − y)²), "
                    "derived and proven.")
    parser.add_argument("--version", action="version", version=f"gradproof {_version()}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(module="symbolic", handler="run_main_job")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    _derive(verbs)
    _prove(verbs)
    _check(verbs)
    _gradient(verbs)
    _latex(verbs)
    _plot(verbs)
    return parser


def _verb(verbs, name: str, module: str, handler: str, **texts) -> ArgumentParser:
    sub = verbs.add_parser(name, **texts)
    sub.set_defaults(module=module, handler=handler)
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                     help="print one JSON object instead of text (errors too: {\"ok\": false, \"error\": …})")
    return sub


def add_network_options(parser: argparse.ArgumentParser, default_layers: str = "2,3,3,2") -> None:
    """--layers, --activation, --loss and --no-bias, shared by every command that builds a network."""
    group = parser.add_argument_group("network")
    group.add_argument("--layers", default=default_layers,
                       help=f"layer sizes n0,…,nL (default: {default_layers}, the source text's)")
    group.add_argument("--activation", default="sigmoid", help=ACTIVATION_HELP)
    group.add_argument("--loss", default="half-sse", help=LOSS_HELP)
    group.add_argument("--no-bias", action="store_true", help="no bias inputs (X̄[l] without the 1)")


def _derive(verbs) -> None:
    derive = _verb(verbs, "derive", "symbolic", "run_derive",
                   help="the forward phase, the Ψ recurrence and chosen ∂E/∂w, derived by the definition",
                   description="Write the network out in the source text's notation: the forward phase, the Ψ "
                               "recurrence and the derived ∂E/∂w of the chosen weights (by sympy.diff).")
    add_network_options(derive)
    derive.add_argument("--weight", action="append", metavar="L,J,I",
                        help="a weight ˡwʲᵢ: layer L, from neuron J (0 = bias), to neuron I; repeat it, or "
                             "'all' (default: ˡw¹₁ of every layer)")


def _prove(verbs) -> None:
    prove = _verb(verbs, "prove", "symbolic", "run_prove",
                  help="prove that the Ψ recurrence equals ∂E/∂w (exact, layerwise, random or general)",
                  description="Prove that the Ψ recurrence gives every ∂E/∂w. --method exact (default): "
                              "sympy.diff of E for each weight, compared exactly; layerwise: the chain-rule "
                              "identities layer by layer, linear in the weights; random: both sides exactly at "
                              "random points (Schwartz–Zippel, with its error probability); general: every "
                              "architecture at once (symbolic widths and induction; needs no --layers). "
                              "Exit status 0: all proven; 1: not.")
    add_network_options(prove)
    prove.set_defaults(activation=None, loss=None, layers=None)  # general: every activation and loss
    prove.add_argument("--method", choices=PROOF_METHODS, default="exact", help="how to prove it (default exact)")
    prove.add_argument("--rounds", type=int, default=2, help="random points for --method random (default 2)")
    prove.add_argument("--backend", choices=("sympy", "symengine"), default="sympy",
                       help="symengine: the exact method's differentiation in C++ (pip install "
                            "'gradproof[fast]'), same verdicts")
    prove.add_argument("--recurrence", metavar="FILE.py:NAME",
                       help="prove your own recurrence instead: a function of the SymbolicNetwork returning "
                            "one sympy matrix per layer, or a PsiRecurrence subclass (see the README)")


def _add_sample_options(parser) -> None:
    add_network_options(parser)
    parser.add_argument("--seed", type=int, default=0, help="the random network's seed (default 0)")
    parser.add_argument("--batch", type=int, default=None, metavar="B",
                        help="B samples instead of one (the batch error is their mean, see --reduction)")
    parser.add_argument("--reduction", choices=("mean", "sum"), default="mean",
                        help="a batch's error: the mean (default) or the sum of the samples' errors")
    parser.add_argument("--method", choices=FD_METHODS, default="complex-step",
                        help="finite difference: complex-step (default, no cancellation), central, richardson, "
                             "or forward (the source text's definition)")
    parser.add_argument("--step", type=float, default=None, help="the step h (default: the method's, from float64's ε)")


def _check(verbs) -> None:
    check = _verb(verbs, "check", "numeric", "run_check",
                  help="check the Ψ gradient of a random network against the finite difference",
                  description="Draw a random network (weights, input, target) from a seed and compare, for every "
                              "weight, the Ψ recurrence, the compiled sympy.diff form (small networks) and the "
                              "finite difference of E. Exit status 0: all agree; 1: a mismatch, or a finite "
                              "difference that cannot decide; 2: bad input.")
    _add_sample_options(check)
    check.add_argument("--quick", action="store_true",
                       help="check along one random direction only; every weight only if that fails")
    check.add_argument("--backward", metavar="FILE.py:FUNCTION",
                       help="check your own backward(wbar, x, y) instead of the Ψ recurrence (see the README)")
    check.add_argument("--batched", action="store_true",
                       help="with --backward and --batch: your function takes the whole batch at once")


def _gradient(verbs) -> None:
    gradient = _verb(verbs, "gradient", "numeric", "run_gradient",
                     help="the Ψ, finite-difference and direct gradients of a random network, as JSON",
                     description="Print wbar, x, y and the gradients (psi, finite_difference, direct) of a random "
                                 "network, each shaped like wbar, so that any other tool can recheck the numbers.")
    _add_sample_options(gradient)


def _latex(verbs) -> None:
    latex = _verb(verbs, "latex", "documents", "run_latex",
                  help="the derivation as a LaTeX document (with the proof and the numeric check)",
                  description="Write a standalone LaTeX document that reproduces the source text's derivation "
                              "for this network: notation, forward phase, the chain rule with its repeated "
                              "factors coloured, the Ψ recurrence, the proof table and the numeric check.")
    add_network_options(latex)
    latex.add_argument("--weights", nargs="+", metavar="L,J,I", default=None,
                       help="the gradients to expand: 'all' or weights L,J,I (default: a bias weight and ˡw¹₁ "
                            "of every layer)")
    latex.add_argument("-o", "--output", default="derivation.tex", help="the .tex file (default derivation.tex)")
    latex.add_argument("--pdf", action="store_true", help="also run pdflatex on it")
    latex.add_argument("--seed", type=int, default=0, help="the numeric check's random network (default 0)")


def _plot(verbs) -> None:
    plot = _verb(verbs, "plot", "documents", "run_plot",
                 help="plot error against step, or cost against size (matplotlib)",
                 description="error-vs-step: each finite-difference method's error against its step, for a "
                             "random network; cost: seconds for every gradient by the definition and by the Ψ "
                             "recurrence.")
    plot.add_argument("kind", choices=("error-vs-step", "cost"))
    add_network_options(plot)
    plot.add_argument("--seed", type=int, default=0, help="the random network's seed (default 0)")
    plot.add_argument("-o", "--output", required=True, help="the image file (.png, .pdf or .svg)")
