"""The ``gradproof`` command line: a contract other tools script against.

Exit status: 0 when everything asked for is proven or agrees, 1 when a verification fails, 2 on bad
usage or input (one line on stderr, no traceback; under ``--json`` also ``{"ok": false, "error": …}`` on
stdout); a check that cannot decide exits 1 too (nothing was verified; the text and the JSON's
``verdict`` tell it from "differ"), 70 on an internal error (a bug in gradproof: one line, and the
traceback with ``GRADPROOF_DEBUG=1``). Warnings are one line each on stderr. The argument tree (:mod:`.parser`) needs only the standard library; the module that runs the
chosen verb (:mod:`.symbolic`, :mod:`.numeric`, :mod:`.documents`) is loaded once it is chosen, so a
numeric command never pays for sympy.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import signal
import sys
import warnings

from gradproof.cli.parser import EXIT_INTERNAL, EXIT_USAGE, UsageError, build_parser, checked
from gradproof.derive.errors import InputError
from gradproof.derive.runtime.threads import default_blas_threads

#: the verbs' modules, by the name the parser records
VERB_MODULES = {name: f"gradproof.cli.{name}" for name in ("symbolic", "numeric", "documents", "layers",
                                                                   "proving")}
#: the verbs' modules that run the user's code in this process (check-layer, check-layers, prove-layer)
IN_PROCESS_USER_CODE = ("layers", "proving")


def main(argv: list[str] | None = None) -> int:
    default_blas_threads()  # before anything imports numpy: see gradproof.derive.runtime.threads
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    if hasattr(signal, "SIGPIPE"):  # `gradproof … | head`: end quietly, as Unix tools do
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    for stream in (sys.stdout, sys.stderr):  # a terminal without unicode gets escapes, not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    warnings.showwarning = _one_line
    sys.set_int_max_str_digits(0)  # an exact integer of any length prints (Python's default stops at 4,300 digits)
    try:
        args = checked(build_parser().parse_args(argv))
    except UsageError as error:
        return fail(str(error), as_json)
    try:
        run = getattr(importlib.import_module(VERB_MODULES[args.module]), args.handler)
        if args.module not in IN_PROCESS_USER_CODE:
            return run(args)
        with _descriptor_1_to_stderr():
            return run(args)
    except InputError as error:
        return fail(str(error), as_json)
    except KeyboardInterrupt:
        print("gradproof: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        return fail("out of memory: the network or the batch is too large for this machine", as_json)
    except Exception as error:  # noqa: BLE001 - a bug in gradproof: one line and a status of its own
        if os.environ.get("GRADPROOF_DEBUG"):
            raise
        message = (f"internal error: {type(error).__name__}: {error} (a bug in gradproof, not a verdict; "
                   "GRADPROOF_DEBUG=1 shows the traceback)")
        fail(message, as_json)
        return EXIT_INTERNAL


@contextlib.contextmanager
def _descriptor_1_to_stderr():
    """While a verb runs the user's code in this process, file descriptor 1 is stderr, and gradproof's own
    output (``sys.stdout``) goes to the real stdout through a copy of it: a raw ``os.write(1, …)`` or a C
    extension's output in the user's code cannot break ``--json``'s one object (prints are the guard's)."""
    if not _bound_to_descriptor_1(sys.stdout):  # stdout replaced in this process (pytest's capsys): leave it
        yield
        return
    sys.stdout.flush()
    original, saved = sys.stdout, os.dup(1)
    os.dup2(2, 1)
    sys.stdout = io.TextIOWrapper(io.FileIO(saved, "w", closefd=False), encoding=original.encoding,
                                  errors="backslashreplace", line_buffering=original.line_buffering)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = original
        os.dup2(saved, 1)
        os.close(saved)


def _bound_to_descriptor_1(stream) -> bool:
    try:
        return stream.fileno() == 1
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def _one_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"gradproof: warning: {' '.join(str(message).split())}", file=sys.stderr)  # (sympy's span lines)


def fail(message: str, as_json: bool) -> int:
    """Report bad usage or input: one line on stderr (and a JSON object on stdout under --json)."""
    if as_json:
        print(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
    print(f"gradproof: error: {message}", file=sys.stderr)
    return EXIT_USAGE
