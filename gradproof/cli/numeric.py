"""The numeric verbs: ``check`` (every weight against the finite difference) and ``gradient`` (the Ψ,
finite-difference and direct gradients, as JSON)."""

from __future__ import annotations

import json
import resource
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
from gradproof.numeric.compiled.conv import conv_psi_gradient
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.checks.conv_check import complex_step_gradient
from gradproof.numeric.samples import random_sample


def _sample(args):
    if args.batch is not None and args.batch < 1:
        raise InputError(f"--batch must be at least 1, not {args.batch}")
    return random_sample(network_from_args(args), seed=args.seed, batch=args.batch)


def _rerun(args) -> str:
    chosen = f"--network {args.network}" if args.network else f"--layers {args.layers or '2,3,3,2'}"
    activation = args.activation or ("" if args.network else "sigmoid")
    parts = ["gradproof check", chosen] + [f"--activation {activation}"] * bool(activation)
    parts += [f"--loss {args.loss or 'half-sse'}", f"--seed {args.seed}"]
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
    if sample.network.has_conv:  # the convolutional check's footprint: the peak of this whole process
        peak = peak_memory_mb()
        report = dict(result.to_dict(), peak_memory_mb=peak)
        print(json.dumps(report, ensure_ascii=False) if args.json else
              f"{result.report()}\npeak memory {peak:.0f} MB (the process's maximum resident set)")
        return EXIT_OK if result.ok else EXIT_FAILED
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.report())
    return EXIT_OK if result.ok else EXIT_FAILED


def peak_memory_mb() -> float:
    """The process's maximum resident set so far, in MB (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2 ** 20 if sys.platform == "darwin" else 2 ** 10)


def run_gradient(args) -> int:
    sample = _sample(args)
    network = sample.network
    x, y = sample.columns()
    if network.has_conv:
        return _conv_gradient(args, sample)
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


def _conv_gradient(args, sample) -> int:
    """``gradient`` on a network with convolutions: Ψ and the forward-mode complex step (no direct form)."""
    if args.method != "complex-step":
        raise InputError(f"--method {args.method} supports dense layers only: a network with convolutions is "
                         "differentiated by the complex step (the default)")
    x, y = sample.columns()
    psi = conv_psi_gradient(sample.network, sample.wbar, x, y, args.reduction)
    steps = complex_step_gradient(sample, args.reduction)
    out = {"network": sample.network.spec(), "seed": args.seed, "batch": args.batch, "reduction": args.reduction,
           "method": args.method, "wbar": _lists(sample.wbar), "x": sample.x.tolist(), "y": sample.y.tolist(),
           "gradients": {"psi": _lists(psi), "finite_difference": _lists(steps), "direct": None}}
    print(json.dumps(out))
    return EXIT_OK


def _lists(arrays) -> list:
    return [np.real(a).tolist() for a in arrays]
