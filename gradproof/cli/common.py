"""What the verbs share: exit statuses, the network from the options, warnings."""

from __future__ import annotations

import argparse
import sys

from gradproof.cli.parser import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from gradproof.derive.model.network import Network

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "network_from_args", "warn"]


def network_from_args(args: argparse.Namespace) -> Network:
    return Network.from_spec(args.layers, args.activation, args.loss, bias=not args.no_bias)


def warn(message: str) -> None:
    print(f"gradproof: warning: {message}", file=sys.stderr)
