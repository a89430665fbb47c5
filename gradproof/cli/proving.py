"""``gradproof prove-layer FILE.py:NAME``: a hand-written layer's backward proven by tracing its numpy code
(:func:`gradproof.derive.proof.layer.prove_layer`). The target and its arguments are read as
``check-layer`` reads them.

Exit status: 0 proven, 1 refuted or undecided, 2 bad input or code that cannot be traced (one line naming the
operation and the line of your file; the numeric check, ``check-layer``, still stands).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from gradproof.cli.common import EXIT_FAILED, EXIT_OK
from gradproof.cli.layers import _parameters, _resolve, _target
from gradproof.derive.errors import InputError
from gradproof.derive.proof.layer import prove_layer
from gradproof.derive.usercode.discovery import import_file
from gradproof.numeric.layers import examples
from gradproof.numeric.checks.own_rules import SIZES_NOTE, prove_own_rules
from gradproof.numeric.layers.arguments import named_arguments


def run_prove_layer(args: argparse.Namespace) -> int:
    try:
        path, name = _target(args.target)
        module = import_file(path, "prove-layer")
        target = _resolve(module, name, argparse.Namespace(**{**vars(args), "init": None}))
    except InputError as error:   # check-layer's reading of FILE.py:NAME, in this verb's name
        text = str(error)
        raise InputError("prove-layer" + text[len("check-layer"):] if text.startswith("check-layer") else text) from None
    if target.kind not in ("pair", "loss"):
        raise InputError(f"cannot trace: {name} is a {target.kind}; prove-layer traces forward/backward pairs "
                         "and losses (check-layer checks it numerically)")
    rng = np.random.default_rng(args.seed)
    if args.arg:
        parameters, defaults = _parameters(target)
        candidates = [named_arguments(args.arg, parameters, rng, defaults)]
    else:
        candidates = examples.candidates(target.name, rng)[:1]
        if not candidates:
            raise InputError(f"no example arguments for {target.name!r}: give them with --arg NAME=SPEC (e.g. "
                             "--arg x=randn:1,2,4,4), one per parameter of the forward")
    inputs = [s.strip() for s in args.inputs.split(",") if s.strip()] if args.inputs else None
    proof = prove_layer(target.forward, target.backward, tuple(candidates[0]), kind=target.kind, inputs=inputs,
                        outputs=args.outputs, name=target.name, seed=args.seed, timeout=args.timeout or None)
    print(json.dumps(proof.to_dict(), ensure_ascii=False) if args.json else proof.report())
    return EXIT_OK if proof.ok else EXIT_FAILED


def run_prove_own_layers(args: argparse.Namespace) -> int:
    """gradproof's own layer rules proven by tracing, configuration by configuration."""
    proofs = prove_own_rules()
    ok = all(r.proof.ok for r in proofs)
    if args.json:
        print(json.dumps({"ok": ok, "note": SIZES_NOTE, "rules": [r.to_dict() for r in proofs]}, ensure_ascii=False))
        return EXIT_OK if ok else EXIT_FAILED
    width = max(len(r.configuration) for r in proofs)
    print("gradproof's own layer rules (numeric/compiled: the code every check runs), traced and proven:")
    for r in proofs:
        print(f"  {r.layer:5}  {r.configuration.ljust(width)}  {r.proof.status} {r.proof.proven}/{r.proof.total} "
              f"entries ({r.proof.seconds:.2f} s)")
        if not r.proof.ok:
            print("    " + r.proof.report().replace("\n", "\n    "))
    print(f"{sum(r.proof.ok for r in proofs)}/{len(proofs)} configurations proven in "
          f"{sum(r.proof.seconds for r in proofs):.1f} s; {SIZES_NOTE}")
    return EXIT_OK if ok else EXIT_FAILED
