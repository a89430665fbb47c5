"""What every ``gradproof`` command shares: the parser, exit statuses and network options."""

from __future__ import annotations

import argparse
import sys

from derive.network import Network

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_network_options(parser: argparse.ArgumentParser, default_layers: str = "2,3,3,2") -> None:
    """--layers, --activation, --loss and --no-bias, shared by every command that builds a network."""
    group = parser.add_argument_group("network")
    group.add_argument("--layers", default=default_layers,
                       help=f"layer sizes n0,…,nL (default: {default_layers}, the source text's)")
    group.add_argument("--activation", default="sigmoid",
                       help="one activation for all layers or one per layer, comma-separated: sigmoid "
                            "(default), tanh, relu, softplus, identity, generic, softmax (output only)")
    group.add_argument("--loss", default="half-sse",
                       help="half-sse (default, ½·Σ(a − y)²), mse ((1/n)·Σ(a − y)²), bce (sigmoid "
                            "output), softmax-ce (softmax output)")
    group.add_argument("--no-bias", action="store_true", help="no bias inputs (X̄[l] without the 1)")


def network_from_args(args: argparse.Namespace) -> Network:
    return Network.from_spec(args.layers, args.activation, args.loss, bias=not args.no_bias)


def warn(message: str) -> None:
    print(f"gradproof: warning: {message}", file=sys.stderr)
