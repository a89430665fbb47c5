"""``gradproof check-layer FILE.py:NAME`` and ``gradproof check-layers FILE.py``: hand-written layers
against the finite differences of their forward (:mod:`gradproof.numeric.layers`).

Exit status: 0 when every layer agrees, 1 when one differs, is unfinished, raises or cannot be decided,
2 on bad usage or input (a missing file, a module that fails to import, a bad --arg or spec).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import inspect
import json
import time
from pathlib import Path

import numpy as np

from gradproof.cli.common import EXIT_FAILED, EXIT_OK
from gradproof.derive.errors import InputError
from gradproof.derive.usercode.interpreter import SharedStateChanged
from gradproof.derive.usercode.conventions import is_torch_function, parameter_names
from gradproof.derive.usercode.discovery import Found, find_layers, functions_of, import_file
from gradproof.numeric.layers import examples
from gradproof.numeric.layers.arguments import arguments_from, layer_specs, named_arguments, parse_value
from gradproof.numeric.layers.check import check_layer
from gradproof.numeric.layers.fresh import Source
from gradproof.numeric.layers.result import AGREE, ERROR, UNDECIDABLE, LayerCheck
from gradproof.numeric.layers.report import HEADLINE

GRADIENT_NAMES = ("{}_grad", "grad_{}", "{}_gradient", "d{}")


def run_check_layer(args: argparse.Namespace) -> int:
    path, name = _target(args.target)
    module = import_file(path, "check-layer")
    target = _resolve(module, name, args)
    rng = np.random.default_rng(args.seed)
    if args.arg:
        parameters, defaults = _parameters(target)
        candidates = [named_arguments(args.arg, parameters, rng, defaults)]
    else:
        candidates = examples.candidates(target.name, rng)
        if not candidates:
            raise InputError(f"no example arguments for {target.name!r}: give them with --arg NAME=SPEC (e.g. "
                             f"--arg x=randn:2,3,7,7), one per parameter of {_forward_name(target)}")
    result, _ = _check_candidates(target, candidates, _options(args), _source(target, module, path))
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.report())
    return EXIT_OK if result.ok else EXIT_FAILED


def run_check_layers(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.prove and not args.prove_budget > 0:
        raise InputError(f"--prove-budget must be a number of seconds > 0, not {args.prove_budget:g}")
    module = import_file(args.file, "check-layers")
    specs = layer_specs(args.spec) if args.spec else {}
    found = [f for f in find_layers(module) if f.kind != "unpaired"]
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")}
        found = [f for f in found if f.name in wanted or wanted & set(f.function_names)]
    if not found:
        raise InputError(f"check-layers: {args.file} has no NAME_forward/NAME_backward pair and no NAME_loss")
    rng = np.random.default_rng(args.seed)
    checked = [_check_found(f, specs, rng, _options(args), _source(f, module, args.file)) for f in found]
    results = [result for result, _, _ in checked]
    # --prove: the proof beside each check (gradproof.cli.beside needs sympy, so it loads only then)
    beside = importlib.import_module("gradproof.cli.beside") if args.prove else None
    proofs = [beside.proof_beside(f, result, used, options, args) for f, (result, used, options) in
              zip(found, checked)] if beside else []
    seconds = time.perf_counter() - start
    unpaired = [f.forward.__name__ for f in find_layers(module) if f.kind == "unpaired"]
    if args.json:
        summary = _summary_json(args.file, results, unpaired, seconds)
        print(json.dumps(beside.with_proofs(summary, proofs) if beside else summary, ensure_ascii=False))
    else:
        text = _summary_text(args.file, results, unpaired, seconds)
        print(beside.proofs_text(text, results, proofs) if beside else text)
    agreed = not any(p["disagreement"] for p in proofs)
    return EXIT_OK if all(r.ok for r in results) and agreed else EXIT_FAILED


def _options(args) -> dict:
    options = {"method": args.method, "entries": args.entries, "budget": args.budget, "seed": args.seed,
               "timeout": args.timeout}
    if getattr(args, "inputs", None):
        options["inputs"] = [s.strip() for s in args.inputs.split(",") if s.strip()]
    if getattr(args, "outputs", None) is not None:
        options["outputs"] = args.outputs
    return options


def _target(text: str) -> tuple[str, str]:
    if ":" not in text:
        raise InputError(f"check-layer {text!r}: write FILE.py:NAME, e.g. layers.py:conv or layers.py:softmax_loss")
    path, name = text.rsplit(":", 1)
    return path, name


def _resolve(module, name: str, args) -> Found:
    """The layer NAME names in ``module``: a pair (by its stem or either function), a loss, a plain
    function with its gradient, a torch Function or a class."""
    functions = functions_of(module)
    obj = getattr(module, name, None)
    backward = _function(module, args.backward, "--backward") if args.backward else None
    if getattr(args, "init", None) and not isinstance(obj, type):
        raise InputError(f"--init gives a class's constructor its arguments; {name} is not a class: leave --init out")
    if isinstance(obj, type):
        if backward is not None:
            raise InputError(f"--backward {args.backward}: {name} is a class, which brings its own backward; "
                             "leave --backward out")
        return _class_target(obj, name, args)
    if obj is not None and callable(obj):
        if backward is not None:
            return Found(_stem(name), "pair", obj, backward)
        if args.kind == "loss" or name == "loss" or name.endswith("_loss"):
            return Found(name, "loss", obj)
        partner = name.replace("_forward", "_backward") if "_forward" in name else None
        if partner in functions:
            return Found(_stem(name), "pair", obj, functions[partner])
        for pattern in GRADIENT_NAMES:
            if pattern.format(name) in functions:
                return Found(name, "pair", obj, functions[pattern.format(name)])
        raise InputError(f"check-layer: no backward for {name}: give --backward NAME (its backward, or the "
                         "gradient function of a scalar function)")
    for found in find_layers(module):
        if found.name == name and backward is not None:   # the stem, with a backward of the user's choosing
            return _with_backward(found, backward, args.backward)
        if found.name == name and found.kind != "unpaired":
            return found
    known = ", ".join(f.name for f in find_layers(module) if f.kind != "unpaired")
    raise InputError(f"check-layer: {module.__file__} has no {name!r}" + (f" (its layers: {known})" if known else ""))


def _with_backward(found: Found, backward, given: str) -> Found:
    """The layer ``found`` by its stem with the ``--backward`` given, in place of the one its name pairs
    it with: never ignored (a loss returns its own gradient, so there it is an error)."""
    if found.kind == "loss":
        raise InputError(f"--backward {given}: {found.name} is a loss, which returns its gradient itself; "
                         "leave --backward out")
    return Found(found.name, "pair", found.forward, backward)


def _stem(name: str) -> str:
    return name.replace("_forward", "")


def _function(module, name: str, option: str):
    value = getattr(module, name, None)
    if not callable(value):
        raise InputError(f"{option}: the module has no function {name!r}")
    return value


def _class_target(cls, name: str, args) -> Found:
    if is_torch_function(cls):
        return Found(name, "torch", cls)
    if not (hasattr(cls, "forward") and hasattr(cls, "backward")):
        raise InputError(f"check-layer: the class {name} has no forward and backward methods")
    rng = np.random.default_rng(args.seed + 1)
    parameters = parameter_names(cls.__init__, skip=1)
    defaults = _defaults(cls.__init__)
    values = named_arguments(args.init or [], parameters, rng, defaults)
    kept = tuple(copy.deepcopy(values))   # for the fresh copy's own object, whatever the constructor does
    try:
        instance = cls(*values)
    except Exception as error:  # noqa: BLE001 - the user's constructor
        raise InputError(f"check-layer: {name}(…) raised {type(error).__name__}: {error}") from None
    return Found(name, "module", instance, init=kept)


def _defaults(function) -> dict:
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _parameters(target: Found) -> tuple[list[str], dict]:
    if target.kind == "torch":
        return parameter_names(target.forward.forward, skip=1), {}
    function = target.forward.forward if target.kind == "module" else target.forward
    return parameter_names(function), _defaults(function)


def _forward_name(target: Found) -> str:
    return getattr(target.forward, "__name__", type(target.forward).__name__)


def _check_candidates(target: Found, candidates: list, options: dict, source: Source) -> tuple[LayerCheck, list]:
    """The check at the first candidate arguments the layer accepts (see :mod:`.examples`), and those
    arguments (a copy taken before the call); the forward is also loaded afresh from ``source``."""
    kind = {"loss": "loss", "torch": "torch", "module": "module"}.get(target.kind)
    first = None
    for args in candidates:
        kept = copy.deepcopy(args)
        result = check_layer(target.forward, target.backward, tuple(args), kind=kind, name=target.name,
                             source=source, **options)
        shape_trouble = any(r.returned_shape is not None and r.returned_shape != r.shape for r in result.inputs)
        if result.status != ERROR and not shape_trouble:
            return result, kept
        first = first or (result, kept)
    return first


def _source(target: Found, module, path: str) -> Source:
    """Where the layer's code is loaded afresh: the file, and the names its functions (or class) have in it
    (an imported forward by the name it was imported as)."""
    if target.init is not None:
        objects = (type(target.forward), None)
    else:
        objects = (target.forward, target.backward)
    names = tuple(None if f is None else _name_in(module, f) for f in objects)
    return Source(str(Path(path).resolve()), names, target.init)


def _name_in(module, obj) -> str:
    for name, value in vars(module).items():
        if value is obj:
            return name
    return obj.__qualname__


def _check_found(found: Found, specs: dict, rng, options: dict, source: Source) -> tuple[LayerCheck, list | None, dict]:
    """The layer's check, the arguments it ran at (None: none could be made) and the options used."""
    spec = _spec_for(found, specs)
    try:
        if spec is not None:
            candidates = [_spec_arguments(found, spec, rng)]
            options = {**options, **{k: spec[k] for k in ("inputs", "outputs") if k in spec}}
        else:
            candidates = examples.candidates(found.name, rng)
        if not candidates:
            return LayerCheck(found.name, found.kind, UNDECIDABLE,
                              reason=f"no arguments: {found.name!r} is not a common layer name; give its arguments "
                                     f"in a spec file (--spec)"), None, options
        return (*_check_candidates(found, candidates, options, source), options)
    except SharedStateChanged:   # not this layer's arguments: the code changed the process, nothing is judged
        raise
    except InputError as error:
        return LayerCheck(found.name, found.kind, ERROR, reason=f"bad arguments: {error}"), None, options


def _spec_for(found: Found, specs: dict):
    for key in (found.name,) + found.function_names:
        if key in specs:
            return specs[key]
    return None


def _spec_arguments(found: Found, spec: dict, rng) -> list:
    given = spec.get("args", spec)
    parameters, defaults = _parameters(found)
    if isinstance(given, list):
        return [parse_value(v, rng, f"{found.name} argument {i + 1}") for i, v in enumerate(given)]
    given = {k: parse_value(v, rng, f"{found.name}: {k}") for k, v in given.items()
             if k not in ("inputs", "outputs")}
    unknown = [k for k in given if k not in parameters]
    if unknown:
        raise InputError(f"{found.name}: no parameter {unknown[0]!r} (it takes {', '.join(parameters)})")
    return arguments_from(given, parameters, defaults, f"spec for {found.name}")


def _summary_text(path: str, results: list[LayerCheck], unpaired: list[str], seconds: float) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{path}: {len(results)} layers checked in {seconds:.2f} s"]
    for r in results:
        what = ", ".join(i.gradient for i in r.inputs) if r.ok else r.reason
        lines.append(f"  {r.name.ljust(width)}  {HEADLINE.get(r.status, r.status).ljust(15)}  {what}")
    details = [r.report() for r in results if not r.ok and r.inputs]
    if details:
        lines += ["", "details:"] + [("\n" + d) for d in details]
    if unpaired:
        lines.append(f"not checked (a forward without a backward): {', '.join(unpaired)}")
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("summary: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)


def _summary_json(path: str, results: list[LayerCheck], unpaired: list[str], seconds: float) -> dict:
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {"ok": all(r.ok for r in results), "file": path, "seconds": seconds, "counts": counts,
            "unpaired": unpaired, "layers": [r.to_dict() for r in results]}


__all__ = ["AGREE", "run_check_layer", "run_check_layers"]
