"""The ``gradproof`` command line: a contract other tools script against.

Exit status: 0 when everything asked for is proven or agrees, 1 when a verification fails, 2 on bad
usage or input (one line on stderr, no traceback).

Subcommands come from modules with a ``register(subparsers)`` function: :mod:`derive.commands`, and
every installed package that declares one under the ``gradproof.commands`` entry-point group
(``numeric`` does). So ``derive`` never imports the packages built on top of it.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

from derive.threads import default_blas_threads

default_blas_threads()  # before anything imports numpy: see derive.threads

from derive import commands  # noqa: E402
from derive.cli_base import EXIT_USAGE, ArgumentParser  # noqa: E402
from derive.errors import InputError  # noqa: E402


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="gradproof",
        description="Prove a hand-derived backpropagation recurrence correct, symbolically and "
                    "numerically. Without a command: the source text's [2,3,3,2] network (biases, "
                    "sigmoid, ½·Σ(a − y)²), derived and proven.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    commands.register(subparsers)
    for plugin in sorted(entry_points(group="gradproof.commands"), key=lambda ep: ep.name):
        plugin.load()(subparsers)
    parser.set_defaults(run=commands.run_main_job)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as error:
        print(f"gradproof: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gradproof: interrupted", file=sys.stderr)
        return 130
