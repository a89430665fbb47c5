"""Load a user's function from ``FILE.py:NAME`` or ``MODULE:NAME`` (for --backward and --recurrence).

Importing runs the user's module: it runs under :func:`gradproof.derive.usercode.guard.call`, so a
``sys.exit``, ``os._exit``, a hang or a print at import time is reported (``UserCodeError``, an
``InputError``), never the end of gradproof or text on its stdout.

:func:`fresh_module` (and :func:`fresh_copies`) loads a file or module again, as a new module object with fresh globals, and finds
objects in it by their qualified names: the layer check's fresh interpreter
(:mod:`gradproof.derive.usercode.zygote`) calls a forward loaded this way, never called before."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from gradproof.derive.errors import InputError
from gradproof.derive.usercode.guard import DEFAULT_TIMEOUT, UserCodeError, call


def load_function(spec: str, option: str, timeout: float | None = DEFAULT_TIMEOUT) -> Callable:
    """A function (or class) from ``"path/to/file.py:name"`` or ``"package.module:name"``, with a clear
    error for a missing file, module or name, and for a file that fails to import (or exits, or takes
    longer than ``timeout`` seconds to import)."""
    if ":" not in spec:
        raise InputError(f"{option} {spec!r}: write FILE.py:FUNCTION or MODULE:FUNCTION, e.g. my_grad.py:backward")
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py") or "/" in where or Path(where).exists():
        module = _load_file(where, option, timeout)
    else:
        module = _import_module(where, option, timeout)
    function = getattr(module, name, None)
    if function is None:
        defined = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise InputError(f"{option}: {where} has no {name!r}" + (f" (it defines: {', '.join(defined)})" if defined else ""))
    if not callable(function):
        raise InputError(f"{option}: {where}:{name} is a {type(function).__name__}, not a function")
    return function


def fresh_copies(where: str, names, timeout: float | None = DEFAULT_TIMEOUT) -> list:
    """The objects named ``names`` (qualified names, ``Class.method`` too; None stays None) in a new copy of
    ``where``: see :func:`fresh_module`."""
    module = fresh_module(where, timeout)
    return [None if name is None else resolve(module, name) for name in names]


def fresh_module(where: str, timeout: float | None = DEFAULT_TIMEOUT):
    """A new copy of ``where`` (a ``.py`` path or a module name), loaded by running its code again in a new
    module object: what an earlier copy kept in its globals, its functions' attributes or its classes is not
    there. A module already in ``sys.modules`` is replaced by the copy (in the process that asks for it: a
    fresh interpreter's, where it is the first)."""
    if where.endswith(".py"):
        return _load_file(where, "fresh copy", timeout)
    sys.modules.pop(where, None)
    return _import_module(where, "fresh copy", timeout)


def resolve(module, qualname: str):
    """``module``'s object at ``qualname`` ("f", "Layer.forward"), or an InputError naming what is missing."""
    value = module
    for part in qualname.split("."):
        if not hasattr(value, part):
            raise InputError(f"{getattr(module, '__name__', 'the module')} has no {qualname!r}")
        value = getattr(value, part)
    return value


def _load_file(path: str, option: str, timeout):
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{option}: no file {path!r}")
    spec = importlib.util.spec_from_file_location(f"gradproof_user_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))
    sys.modules[spec.name] = module  # registered while it runs (dataclasses, pickle and typing look it up)
    try:
        call(_exec, spec, module, path, option, what=f"{option} {path}", timeout=timeout)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    finally:
        sys.path.pop(0)
    return module


def _exec(spec, module, path: str, option: str) -> None:
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - the user's file failed while importing
        raise UserCodeError(f"{option}: {path} failed to import: {type(error).__name__}: {error} "
                            f"({_line_in(error, path)})") from None


def _line_in(error: BaseException, path: str) -> str:
    """"line N" of the user's file where the import failed (a syntax error's own line, else the innermost
    frame in that file), not a line of the standard library it happened to call."""
    if getattr(error, "lineno", None) and isinstance(error, SyntaxError):
        return f"line {error.lineno}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == Path(path).resolve()]
    return f"line {frames[-1].lineno}" if frames else "while importing"


def _import_module(where: str, option: str, timeout):
    def run():
        try:
            return importlib.import_module(where)
        except ImportError as error:
            raise UserCodeError(f"{option}: module {where!r} cannot be imported: {error}") from None
        except Exception as error:  # noqa: BLE001 - the user's module failed while importing
            raise UserCodeError(f"{option}: module {where!r} failed to import: {type(error).__name__}: "
                                f"{error}") from None
    return call(run, what=f"{option} {where}", timeout=timeout).value
