"""What the verbs share: exit statuses, the network from the options, warnings."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gradproof.cli.parser import EXIT_FAILED, EXIT_OK, EXIT_UNDECIDED, EXIT_USAGE
from gradproof.derive.errors import InputError
from gradproof.derive.model.layer_net import has_pooling
from gradproof.derive.model.network import Network

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNDECIDED", "EXIT_USAGE", "network_from_args", "process_seconds", "warn"]


def network_from_args(args: argparse.Namespace) -> Network:
    """The network the options describe: --network NAME, or --layers (default the source text's 2,3,3,2)."""
    activation, loss = args.activation, args.loss
    if has_definitions(args):  # your own activation or loss: sympy parses it (never for built-in names)
        custom = importlib.import_module("gradproof.derive.symbolic.custom")
        activation, loss = custom.resolve(activation, loss, getattr(args, "define", None))
    if getattr(args, "network", None):
        if args.layers or args.no_bias:
            raise InputError(f"--network {args.network} names the layers: drop {'--layers' if args.layers else '--no-bias'}")
        return Network.atari(activation, loss or "half-sse")
    if has_pooling(args.layers or ""):
        raise InputError("--layers with pool<k>: a network with max pooling is derived and proven by tracing in "
                         "`gradproof derive` and `gradproof latex` only")
    return Network.from_spec(args.layers or "2,3,3,2", activation or "sigmoid", loss or "half-sse",
                             bias=not args.no_bias)


def has_definitions(args: argparse.Namespace) -> bool:
    """Whether the command line defines an activation or loss (``--define``, or ``NAME=EXPR`` values)."""
    return bool(getattr(args, "define", None)) or any(
        "=" in (getattr(args, name, None) or "") for name in ("activation", "loss"))


def warn(message: str) -> None:
    print(f"gradproof: warning: {message}", file=sys.stderr)


def process_seconds() -> float | None:
    """Wall time since this process started, Python's own start-up included (Linux's /proc, to its clock
    tick of 10 ms), or None where that cannot be read."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat, open("/proc/uptime", encoding="ascii") as up:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return max(0.0, float(up.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return None
