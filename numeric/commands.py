"""The numeric commands, registered into ``gradproof`` through the ``gradproof.commands`` entry point:
``check`` (every weight against the finite difference) and ``gradient`` (all three, as JSON)."""

from __future__ import annotations

import json
import sys

import numpy as np

from derive.cli_base import EXIT_FAILED, EXIT_OK, add_network_options, network_from_args
from derive.errors import InputError
from derive.loading import load_function
from numeric import output_commands
from numeric.backward import user_gradient
from numeric.check import check_gradient, compiled
from numeric.compiled import per_weight_feasible
from numeric.errors import FiniteDifferenceUnreliable
from numeric.finite_difference import METHODS, finite_difference
from numeric.forms import REDUCTIONS, psi_gradient
from numeric.samples import random_sample


def register(subparsers) -> None:
    check = subparsers.add_parser(
        "check", help="check the Ψ gradient of a random network against the finite difference",
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
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(run=run_check)

    gradient = subparsers.add_parser(
        "gradient", help="the Ψ, finite-difference and direct gradients of a random network, as JSON",
        description="Print wbar, x, y and the gradients (psi, finite_difference, direct) of a random "
                    "network, each shaped like wbar, so that any other tool can recheck the numbers.")
    _add_sample_options(gradient)
    gradient.add_argument("--json", action="store_true", help="print JSON (the default output)")
    gradient.set_defaults(run=run_gradient)
    output_commands.register(subparsers)


def _add_sample_options(parser) -> None:
    add_network_options(parser)
    parser.add_argument("--seed", type=int, default=0, help="the random network's seed (default 0)")
    parser.add_argument("--batch", type=int, default=None, metavar="B",
                        help="B samples instead of one (the batch error is their mean, see --reduction)")
    parser.add_argument("--reduction", choices=REDUCTIONS, default="mean",
                        help="a batch's error: the mean (default) or the sum of the samples' errors")
    parser.add_argument("--method", choices=METHODS, default="complex-step",
                        help="finite difference: complex-step (default, no cancellation), central, "
                             "richardson, or forward (the source text's definition)")
    parser.add_argument("--step", type=float, default=None,
                        help="the step h (default: the method's, from float64's ε)")


def _sample(args):
    if args.batch is not None and args.batch < 1:
        raise InputError(f"--batch must be at least 1, not {args.batch}")
    return random_sample(network_from_args(args), seed=args.seed, batch=args.batch)


def _rerun(args) -> str:
    parts = ["gradproof check", f"--layers {args.layers}", f"--activation {args.activation}",
             f"--loss {args.loss}", f"--seed {args.seed}"]
    parts += ["--no-bias"] * args.no_bias + ([f"--batch {args.batch}"] if args.batch else [])
    parts += [f"--backward {args.backward}"] * bool(args.backward) + ["--batched"] * args.batched
    return " ".join(parts)


def run_check(args) -> int:
    if args.batched and not args.backward:
        raise InputError("--batched describes your --backward function: give --backward FILE.py:FUNCTION too")
    backward = load_function(args.backward, "--backward") if args.backward else None
    sample = _sample(args)
    gradient = None if backward is None else user_gradient(backward, sample.network, args.batched)
    name = None if backward is None else f"your backward pass {args.backward}"
    try:
        result = check_gradient(sample, gradient, analytic_name=name, method=args.method, step=args.step,
                                reduction=args.reduction, tier="direction" if args.quick else "full",
                                seed=args.seed, rerun=_rerun(args), progress=None)
    except FiniteDifferenceUnreliable as why:
        if args.json:
            print(json.dumps({"ok": False, "unreliable": str(why), "method": args.method}))
        print(f"gradproof: the finite difference is unreliable here: {why}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.report())
    return EXIT_OK if result.ok else EXIT_FAILED


def run_gradient(args) -> int:
    sample = _sample(args)
    network = sample.network
    x, y = sample.columns()
    psi = psi_gradient(network, sample.wbar, x, y, args.reduction)
    fd = finite_difference(network, sample.wbar, x, y, args.method, args.step, args.reduction, progress=None)
    direct = None
    if per_weight_feasible(network):
        direct = _lists(compiled(network, "direct")(sample.wbar, x, y, args.reduction))
    out = {"network": network.spec(), "seed": args.seed, "batch": args.batch, "reduction": args.reduction,
           "method": args.method, "wbar": _lists(sample.wbar), "x": sample.x.tolist(),
           "y": sample.y.tolist(),
           "gradients": {"psi": _lists(psi), "finite_difference": _lists(fd.values), "direct": direct}}
    print(json.dumps(out))
    return EXIT_OK


def _lists(arrays) -> list:
    return [np.real(a).tolist() for a in arrays]
