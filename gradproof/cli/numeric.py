"""The numeric verbs: ``check`` (every weight against the finite difference) and ``gradient`` (the Ψ,
finite-difference and direct gradients, as JSON).

A ``--backward`` function runs in a child process of its own (:mod:`gradproof.derive.usercode.isolation`):
it is handed copies of the arrays and returns arrays; the references are computed here, from arrays it
never sees, and its exits, hangs (``--timeout``) and writes to stdout cannot reach this process's verdict
or output.
"""

from __future__ import annotations

import json
import os
import resource
import sys

import numpy as np

from gradproof.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNDECIDED, network_from_args, process_seconds, warn
from gradproof.derive.errors import InputError
from gradproof.derive.usercode.isolation import IsolatedFunction
from gradproof.numeric.budget import require_memory
from gradproof.numeric.checks.contract import user_gradient
from gradproof.numeric.checks.repeatable import BATCHED_NEEDS_A_BATCH, twice
from gradproof.numeric.checks.check import check_gradient, compiled
from gradproof.numeric.compiled.per_weight import direct_feasible
from gradproof.numeric.checks.conv_check import complex_step_gradient
from gradproof.numeric.compiled.conv import conv_psi_gradient
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.differences.finite_difference import finite_difference
from gradproof.numeric.errors import FiniteDifferenceUnreliable
from gradproof.numeric.samples import random_sample


def _sample(args):
    if args.batch is not None and args.batch < 1:
        raise InputError(f"--batch must be at least 1, not {args.batch}")
    network = network_from_args(args)
    require_memory(network, args.batch)
    return random_sample(network, seed=args.seed, batch=args.batch)


def _rerun(args) -> str:
    chosen = f"--network {args.network}" if args.network else f"--layers {args.layers or '2,3,3,2'}"
    activation = args.activation or ("" if args.network else "sigmoid")
    parts = ["gradproof check", chosen] + [f"--activation {activation}"] * bool(activation)
    parts += [f"--loss {args.loss or 'half-sse'}", f"--seed {args.seed}"]
    parts += ["--no-bias"] * args.no_bias + ([f"--batch {args.batch}"] if args.batch else [])
    parts += [f"--backward {args.backward}"] * bool(args.backward) + ["--batched"] * args.batched
    return " ".join(parts)


def _timeout(args) -> float | None:
    return args.timeout or None   # checked with the other options (gradproof.cli.parser.checked)


def run_check(args) -> int:
    if args.batched and not args.backward:
        raise InputError("--batched describes your --backward function: give --backward FILE.py:FUNCTION too")
    if args.batched and (args.batch or 1) < 2:
        raise InputError(BATCHED_NEEDS_A_BATCH)
    timeout = _timeout(args)
    sample = _sample(args)
    if not args.backward:
        return _report(args, _check(args, sample, None, None))
    with IsolatedFunction(args.backward, "--backward", "your backward pass", timeout) as backward:
        gradient = user_gradient(twice(backward), sample.network, args.batched, timeout=None)
        gradient.repeated = True  # each call already made twice
        return _report(args, _check(args, sample, gradient, f"your backward pass {args.backward}"))


def _check(args, sample, gradient, name):
    # --quick with your code: a direction drawn now, after your code's process started, so that it cannot
    # hide an error orthogonal to a direction it could compute (the seeded one is public)
    direction_seed = int.from_bytes(os.urandom(4), "little") if args.quick and gradient is not None else 0
    return check_gradient(sample, gradient, analytic_name=name, method=args.method, step=args.step,
                          reduction=args.reduction, tier="direction" if args.quick else "full",
                          seed=args.seed, direction_seed=direction_seed, rerun=_rerun(args), progress=None)


def _report(args, result) -> int:
    status = {"agree": EXIT_OK, "differ": EXIT_FAILED}.get(result.verdict, EXIT_UNDECIDED)
    found = result.to_dict()
    found["timing"]["process_seconds"] = wall = process_seconds()
    text = [result.report()]
    if wall is not None:
        text.append(f"{wall:.2f} s since the process started (Python's start-up and imports included)")
    if result.network.has_conv:  # the convolutional check's footprint: the peak of this whole process
        found["peak_memory_mb"] = peak = peak_memory_mb()
        text.append(f"peak memory {peak:.0f} MB (the process's maximum resident set)")
    print(json.dumps(found, ensure_ascii=False) if args.json else "\n".join(text))
    return status


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
    try:
        fd = finite_difference(network, sample.wbar, x, y, args.method, args.step, args.reduction, progress=None)
    except FiniteDifferenceUnreliable as why:
        warn(f"the finite difference cannot be formed here: {why}")
        return EXIT_UNDECIDED
    direct = None
    if direct_feasible(network):
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
