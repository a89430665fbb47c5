"""The numeric verbs: ``check`` (every weight against the finite difference) and ``gradient`` (the Ψ,
finite-difference and direct gradients, as JSON).

A ``--backward`` function runs in a child process of its own (:mod:`gradproof.derive.usercode.isolation`):
it is handed copies of the arrays and returns arrays; the references are computed here, from arrays it
never sees, and its exits, hangs (``--timeout``) and writes to stdout cannot reach this process's verdict
or output.
"""

from __future__ import annotations

import json
import secrets

import numpy as np

from gradproof.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNDECIDED, network_from_args, warn
from gradproof.derive.errors import InputError
from gradproof.derive.usercode.isolation import IsolatedFunction
from gradproof.numeric.budget import require_memory
from gradproof.numeric.checks.backward import user_gradient
from gradproof.numeric.checks.check import check_gradient, compiled
from gradproof.numeric.compiled.lambdified import per_weight_feasible
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
    parts = ["gradproof check", f"--layers {args.layers}", f"--activation {args.activation}",
             f"--loss {args.loss}", f"--seed {args.seed}"]
    parts += ["--no-bias"] * args.no_bias + ([f"--batch {args.batch}"] if args.batch else [])
    parts += [f"--backward {args.backward}"] * bool(args.backward) + ["--batched"] * args.batched
    return " ".join(parts)


def _timeout(args) -> float | None:
    if args.timeout is None:
        return None
    if not np.isfinite(args.timeout) or args.timeout < 0:
        raise InputError(f"--timeout must be a number of seconds ≥ 0 (0: no limit), not {args.timeout}")
    return args.timeout or None


def run_check(args) -> int:
    if args.batched and not args.backward:
        raise InputError("--batched describes your --backward function: give --backward FILE.py:FUNCTION too")
    timeout = _timeout(args)
    sample = _sample(args)
    if not args.backward:
        return _report(args, _check(args, sample, None, None))
    with IsolatedFunction(args.backward, "--backward", "your backward pass", timeout) as backward:
        gradient = user_gradient(backward, sample.network, args.batched, timeout=None)
        return _report(args, _check(args, sample, gradient, f"your backward pass {args.backward}"))


def _check(args, sample, gradient, name):
    # --quick with your code: a direction drawn now, after your code's process started, so that it cannot
    # hide an error orthogonal to a direction it could compute (the seeded one is public)
    direction_seed = secrets.randbits(32) if args.quick and gradient is not None else 0
    return check_gradient(sample, gradient, analytic_name=name, method=args.method, step=args.step,
                          reduction=args.reduction, tier="direction" if args.quick else "full",
                          seed=args.seed, direction_seed=direction_seed, rerun=_rerun(args), progress=None)


def _report(args, result) -> int:
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.report())
    return {"agree": EXIT_OK, "differ": EXIT_FAILED}.get(result.verdict, EXIT_UNDECIDED)


def run_gradient(args) -> int:
    sample = _sample(args)
    network = sample.network
    x, y = sample.columns()
    psi = psi_gradient(network, sample.wbar, x, y, args.reduction)
    try:
        fd = finite_difference(network, sample.wbar, x, y, args.method, args.step, args.reduction, progress=None)
    except FiniteDifferenceUnreliable as why:
        warn(f"the finite difference cannot be formed here: {why}")
        return EXIT_UNDECIDED
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
