"""The ``gradproof`` argument tree, built from the standard library alone.

Parsing never imports sympy or numpy: ``gradproof --help`` and usage errors answer at once, and each
verb names the module that runs it (``module``, ``handler``), loaded only once it is chosen.
"""

from __future__ import annotations

import argparse

from gradproof import __version__
from gradproof.derive.errors import InputError
from gradproof.derive.usercode.timeouts import checked_timeout

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: a check that cannot decide (the finite difference does not resolve the gradient), and a bug in gradproof
#: a check that cannot decide has not verified anything: 1, like an undecided proof (the verdict tells them apart)
EXIT_UNDECIDED, EXIT_INTERNAL = EXIT_FAILED, 70

ACTIVATION_HELP = ("one activation for all layers or one per layer, comma-separated: sigmoid (default), tanh, "
                   "relu, softplus, identity, generic, softmax (output only)")
LOSS_HELP = ("half-sse (default, ½·Σ(a − y)²), mse ((1/n)·Σ(a − y)²), bce (sigmoid output), softmax-ce "
             "(softmax output)")
FD_METHODS = ("complex-step", "central", "richardson", "forward")
PROOF_METHODS = ("exact", "layerwise", "random", "general")
NETWORKS = ("atari",)
ATARI_LAYERS = "4x84x84,conv32k8s4,conv64k4s2,conv64k3s1,512,3"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (JSON on stdout under --json) and exit status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


class UsageError(Exception):
    """A command line argparse rejects: reported by :func:`gradproof.cli.main` with exit status 2."""


def checked(args: argparse.Namespace) -> argparse.Namespace:
    """The options several verbs share, checked here once for all of them: a seed is a whole number ≥ 0
    (numpy refuses negative ones), a time limit a number of seconds the timers accept (0: none, at most
    :data:`gradproof.derive.usercode.timeouts.MAX_TIMEOUT`)."""
    seed = getattr(args, "seed", None)
    if seed is not None and seed < 0:
        raise UsageError(f"the seed must be a whole number ≥ 0, not {seed}")
    try:
        checked_timeout(getattr(args, "timeout", None), "--timeout")
    except InputError as error:
        raise UsageError(str(error)) from None
    return args


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="gradproof",
        description="Prove a hand-derived backpropagation recurrence correct, symbolically and numerically. "
                    "Without a command: the source text's [2,3,3,2] network (biases, sigmoid, ½·Σ(a − y)²), "
                    "derived and proven.")
    parser.add_argument("--version", action="version", version=f"gradproof {__version__}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(module="symbolic", handler="run_main_job")
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    _derive(verbs)
    _prove(verbs)
    _check(verbs)
    _gradient(verbs)
    _latex(verbs)
    _plot(verbs)
    _check_layer(verbs)
    _check_layers(verbs)
    _prove_layer(verbs)
    _prove_own_layers(verbs)
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
    group.add_argument("--layers", default=None,
                       help=f"layer sizes n0,…,nL (default: {default_layers}, the source text's), or a convolutional "
                            "network: CxHxW,conv<O>k<k>[s<s>][p<p>],…,dense widths (e.g. 1x8x8,conv4k3s1p1,10)")
    group.add_argument("--network", choices=NETWORKS, default=None,
                       help="a named network instead of --layers: atari, the source text's Atari network (the "
                            "Nature-DQN with 3 actions, 1,685,667 weights: " + ATARI_LAYERS + "; ReLU, identity output)")
    group.add_argument("--activation", default=None, help=ACTIVATION_HELP)
    group.add_argument("--loss", default="half-sse", help=LOSS_HELP)
    group.add_argument("--no-bias", action="store_true", help="no bias inputs (X̄[l] without the 1)")
    group.add_argument("--define", action="append", metavar="NAME=EXPR",
                       help="your own activation (an expression in z: swish=z*sigmoid(z)) or loss (in a and y, "
                            "summed over the outputs: logcosh=log(cosh(a - y))), then used by name in --activation "
                            "or --loss; NAME'=RULE gives its derivative rule, proven against sympy.diff (default: "
                            "sympy.diff). --activation NAME=EXPR and --loss NAME=EXPR define and use at once")


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
    prove.add_argument("--rounds", type=int, default=None, help="random points for --method random (default 2)")
    prove.add_argument("--backend", choices=("auto", "sympy", "symengine"), default="auto",
                       help="the exact method's differentiation: auto (default): symengine, sympy's C++ core, "
                            "where it is installed (pip install 'gradproof[fast]') and can carry E, else sympy; "
                            "sympy; or symengine (an E it cannot carry, e.g. a Piecewise, is an error). Same "
                            "verdicts; the report says which decided")
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
                              "weight, the Ψ recurrence, the compiled direct form ∂E/∂w (up to 600 weights) and the "
                              "finite difference of E. Exit status 0: all agree; 1: a mismatch, or the check cannot "
                              "decide (the finite difference does not resolve the gradient); 2: bad input.")
    _add_sample_options(check)
    check.add_argument("--quick", action="store_true",
                       help="check along one random direction only; every weight only if that fails")
    check.add_argument("--backward", metavar="FILE.py:FUNCTION",
                       help="check your own backward(wbar, x, y) instead of the Ψ recurrence (see the README)")
    check.add_argument("--batched", action="store_true",
                       help="with --backward and --batch: your function takes the whole batch at once")
    check.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                       help="seconds your --backward may take to import, and per call (default 60; 0: no limit)")


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


LAYER_METHODS = ("auto", "complex-step", "central")
LAYER_ENTRIES = ("auto", "all", "directions")
SPEC_HELP = ("NAME=SPEC: a parameter of the forward and its value: randn:2,3,7,7 (also rand, uniform:4:low=0,high=2, "
             "positive, away, distinct, randint:5:high=10, mask:2,4, zeros, ones), npy:FILE.npy, JSON "
             "('{\"stride\": 1, \"pad\": 1}', [0, 2, 1]), a finite number as JSON writes it, or a word (starting "
             "with a letter); once for every parameter")


def _add_layer_check_options(parser) -> None:
    parser.add_argument("--method", choices=LAYER_METHODS, default="auto",
                        help="auto (default): the complex step where the forward carries complex numbers, else "
                             "central differences; or force one")
    parser.add_argument("--entries", choices=LAYER_ENTRIES, default="auto",
                        help="auto (default): every entry within --budget seconds, else a random sample besides "
                             "random directions; all: every entry; directions: random directions only")
    parser.add_argument("--budget", type=float, default=0.5,
                        help="seconds a layer's check aims for (default 0.5); past it, a random sample of entries")
    parser.add_argument("--seed", type=int, default=0, help="seed of the arguments and upstream gradients (default 0)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds one call of your code (or one sweep of calls) may take (default 60)")


def _check_layer(verbs) -> None:
    sub = _verb(verbs, "check-layer", "layers", "run_check_layer",
                help="check one hand-written layer's backward against the finite differences of its forward",
                description="Check one layer written as NAME_forward/NAME_backward (out, cache = forward(...); "
                            "grads = backward(dout, cache)), a loss (loss, dx = NAME_loss(x, y)), a torch "
                            "Function, a class with forward/backward, or a scalar function with --backward "
                            "GRADIENT. Arguments: --arg for each parameter, or none for a common layer name "
                            "(built-in examples). Exit status 0: agree; 1: differs, unfinished, raises or "
                            "undecidable; 2: bad input.")
    sub.add_argument("target", metavar="FILE.py:NAME",
                     help="NAME: a layer (conv for conv_forward/conv_backward), a forward, a loss, a class")
    sub.add_argument("--arg", action="append", metavar="NAME=SPEC", help=SPEC_HELP)
    sub.add_argument("--init", action="append", metavar="NAME=SPEC",
                     help="for a class: its constructor's arguments, as --arg")
    sub.add_argument("--backward", metavar="NAME", help="the backward (or gradient) function, when its name "
                                                          "does not follow from NAME")
    sub.add_argument("--kind", choices=("pair", "loss", "function"), default=None,
                     help="the convention, when the name does not tell it")
    sub.add_argument("--inputs", metavar="X,W", help="the differentiable inputs, when not every float array")
    sub.add_argument("--outputs", type=int, metavar="N", help="how many leading values of the forward's result "
                                                               "are outputs (default: all but the cache)")
    _add_layer_check_options(sub)


def _check_layers(verbs) -> None:
    sub = _verb(verbs, "check-layers", "layers", "run_check_layers",
                help="check every forward/backward pair and loss of a module",
                description="Find every NAME_forward/NAME_backward pair and NAME_loss in FILE.py and check each: "
                            "with the arguments of a spec file (JSON: {\"conv_forward_naive\": {\"x\": "
                            "\"randn:2,3,7,7\", …}}), or for the common layer names from built-in examples. "
                            "Exit status 0: all agree; 1: something differs, is unfinished, raises or cannot "
                            "be decided; 2: bad input.")
    sub.add_argument("file", metavar="FILE.py")
    sub.add_argument("--spec", metavar="SPEC.json", help="arguments per function or layer name (see above)")
    sub.add_argument("--only", metavar="NAMES", help="check only these layers (comma-separated)")
    sub.add_argument("--prove", action="store_true",
                     help="also prove each pair and loss by tracing it into sympy (as prove-layer), at the arguments "
                          "the check used: proven, refuted, undecided or 'cannot trace: … at FILE:LINE' beside the "
                          "numeric verdict; a proof that contradicts the check is reported and exits 1")
    sub.add_argument("--prove-budget", type=float, default=120.0, metavar="S",
                     help="seconds each proof may take before it is stopped and reported undecided (default 120)")
    _add_layer_check_options(sub)


def _prove_layer(verbs) -> None:
    sub = _verb(verbs, "prove-layer", "proving", "run_prove_layer",
                help="prove one hand-written layer's backward by tracing your numpy code into sympy",
                description="Run the forward and the backward, unchanged, on arrays of sympy symbols (with a "
                            "symbolic upstream gradient G), and prove every returned gradient entry equal to "
                            "sympy's derivative of E = <G, out> (a loss: of the loss), at the sizes of the "
                            "arguments, on the region where the code's branches are the traced ones. Arguments "
                            "as for check-layer (--arg, or none for a common layer name; small sizes prove "
                            "fastest). Exit status 0: proven; 1: refuted or undecided; 2: bad input or cannot "
                            "trace.")
    sub.add_argument("target", metavar="FILE.py:NAME", help="as for check-layer: a pair's stem, a forward, a loss")
    sub.add_argument("--arg", action="append", metavar="NAME=SPEC", help=SPEC_HELP)
    sub.add_argument("--backward", metavar="NAME", help="the backward, when its name does not follow from NAME")
    sub.add_argument("--kind", choices=("pair", "loss"), default=None, help="the convention, when the name does "
                                                                             "not tell it")
    sub.add_argument("--inputs", metavar="X,W", help="the differentiated inputs, when not every float array")
    sub.add_argument("--outputs", type=int, metavar="N", help="how many leading values of the forward's result "
                                                               "are outputs (default: all but the cache)")
    sub.add_argument("--seed", type=int, default=0, help="seed of the arguments and upstream gradients (default 0)")
    sub.add_argument("--timeout", type=float, default=60.0,
                     help="seconds one call of your code may take (default 60)")


def _prove_own_layers(verbs) -> None:
    sub = _verb(verbs, "prove-own-layers", "proving", "run_prove_own_layers",
                help="prove gradproof's own dense and convolution rules by tracing the code the check runs",
                description="Trace the numpy code of gradproof's own Ψ recurrence (∂E/∂W̄ = Σ Ψ ⊗ X̄ and Ψ down "
                            "through W̄ᵀ or the transposed convolution) as forward/backward pairs and prove every "
                            "entry, on a ladder of concrete sizes (strides 1–3, padding 0–1, kernels 1–3, several "
                            "channels and samples, with and without bias). Exit status 0: all proven; 1: not.")
