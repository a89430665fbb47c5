"""Finding the layers in a user's module: forward/backward pairs, losses, and (by name) classes.

- ``NAME_forward…`` with ``NAME_backward…`` (the same name with "forward" replaced) is a pair called NAME
  (``conv_forward_naive`` + ``conv_backward_naive``: conv_naive);
- a backward without its own forward uses NAME_forward (``batchnorm_backward_alt``: batchnorm_alt), which
  may be imported from another module (a backward written against a given forward);
- ``…_loss`` (or ``loss``) is a loss;
- a forward without a backward is listed, as unpaired.

Only functions defined in the module itself count (not what it imports), in the order of its source.
Importing the module runs its code: :func:`import_file` does it under the guard.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from gradproof.derive.errors import InputError
from gradproof.derive.usercode import guard


@dataclass(frozen=True)
class Found:
    """One layer found in a module: ``kind`` is pair or loss; ``backward`` None for a loss (and for an
    unpaired forward, whose ``kind`` is "unpaired"); for a layer object made from a class (``kind``
    module), ``init`` holds its constructor's arguments."""

    name: str
    kind: str
    forward: object
    backward: object = None
    init: tuple | None = None

    @property
    def function_names(self) -> tuple[str, ...]:
        return tuple(f.__name__ for f in (self.forward, self.backward) if f is not None)


def import_file(path: str, option: str = "check-layers"):
    """The module in ``path``, imported under the guard (its prints to stderr, its exceptions and exits
    reported as bad input)."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{option}: no file {path!r}")
    spec = importlib.util.spec_from_file_location(f"gradproof_user_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))
    try:
        guard.call(spec.loader.exec_module, module, what=f"importing {file.name}")
    except guard.UserCodeError as error:
        raise InputError(f"{option}: {path} failed to import: {error}") from None
    finally:
        sys.path.pop(0)
    return module


def functions_of(module) -> dict:
    """The functions defined in ``module`` itself, in source order."""
    own = [(name, value) for name, value in vars(module).items()
           if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")]
    own.sort(key=lambda item: item[1].__code__.co_firstlineno)
    return dict(own)


def find_layers(module) -> list[Found]:
    """Every pair and loss in ``module`` (and every forward without a backward), in source order."""
    functions = functions_of(module)
    every = {n: v for n, v in vars(module).items() if inspect.isfunction(v)}  # imported ones too
    found, used = [], set()
    for name, function in functions.items():
        if name in used:
            continue
        if "_forward" in name and name.replace("_forward", "_backward") in every:
            partner = name.replace("_forward", "_backward")
            found.append(Found(name.replace("_forward", ""), "pair", function, every[partner]))
            used.update((name, partner))
        elif "_backward" in name:
            forward = _forward_for(name, every)
            if forward is not None:  # a forward may serve several backwards (batchnorm_backward_alt)
                found.append(Found(name.replace("_backward", ""), "pair", every[forward], function))
                used.update((name, forward))
        elif name == "loss" or name.endswith("_loss"):
            found.append(Found(name, "loss", function))
    found += [Found(name.replace("_forward", ""), "unpaired", f) for name, f in functions.items()
              if "_forward" in name and name not in used]
    return sorted(found, key=lambda x: (x.backward or x.forward).__code__.co_firstlineno)


def _forward_for(backward: str, every: dict) -> str | None:
    """The forward of a backward: the same name with "forward" (conv_backward_naive → conv_forward_naive),
    else the name before "_backward" (batchnorm_backward_alt → batchnorm_forward)."""
    for candidate in (backward.replace("_backward", "_forward"), backward.split("_backward")[0] + "_forward"):
        if candidate in every:
            return candidate
    return None
