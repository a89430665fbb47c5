"""The numeric verbs: ``check`` (every weight against the finite difference) and ``gradient`` (the Ψ,
finite-difference and direct gradients, as JSON)."""

from __future__ import annotations

import json
import sys

import numpy as np

from gradproof.cli.common import EXIT_FAILED, EXIT_OK, network_from_args
from gradproof.derive.errors import InputError
from gradproof.derive.usercode.loading import load_function
from gradproof.numeric.checks.backward import user_gradient
from gradproof.numeric.checks.check import check_gradient, compiled
from gradproof.numeric.compiled.lambdified import per_weight_feasible
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.differences.finite_difference import finite_difference
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.samples import random_sample


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
