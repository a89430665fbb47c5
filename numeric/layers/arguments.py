"""Arguments for a layer from short specs: ``randn:2,3,7,7``, ``randint:5:high=4``, ``{"stride": 1}``.

A spec is one of

- ``KIND:SHAPE[:KEY=VALUE,…]`` — an array drawn from the check's seed. KIND is ``randn`` (standard normal;
  ``scale=``), ``rand`` (uniform on [0, 1)), ``uniform`` (``low=``, ``high=``), ``positive`` (uniform on
  [0.5, 1.5): scales, variances, γ), ``away`` (standard normal kept at least ``gap=0.05`` from 0: inputs
  of relu-like layers), ``distinct`` (no two entries closer than 0.1: max pooling without ties),
  ``randint`` (integers in [0, ``high=10``): labels, word indices), ``mask`` (booleans, True with
  probability ``p=0.5``), ``zeros``, ``ones``; SHAPE is comma-separated (``randn:4`` is a vector,
  ``randn:`` a 0-d array);
- ``npy:PATH`` — an array saved with ``numpy.save``;
- JSON — an object (option dicts: ``{"stride": 1, "pad": 1}``), a list (a literal array: integers give
  an integer array, booleans a mask, anything else float64), a number, ``true``/``false``/``null``;
- anything else: the string itself (``train``).

Dicts and lists inside JSON are taken literally; a spec file (:func:`layer_specs`) gives the arguments
of each function by parameter name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gradproof.derive.errors import InputError

KINDS = ("randn", "rand", "uniform", "positive", "away", "distinct", "randint", "mask", "zeros", "ones")


def parse_value(spec, rng: np.random.Generator, where: str = "argument"):
    """The argument a spec describes (non-strings, from a JSON file, are returned as they are, lists as
    arrays)."""
    if isinstance(spec, list):
        return _literal_array(spec, where)
    if not isinstance(spec, str):
        return spec
    text = spec.strip()
    head = text.split(":", 1)[0]
    if head in KINDS and ":" in text:
        return _draw(text, rng, where)
    if head == "npy" and ":" in text:
        return _load(text[4:], where)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        if text[:1] in "{[":
            raise InputError(f"{where}: {text!r} looks like JSON but does not parse") from None
        return text
    return _literal_array(value, where) if isinstance(value, list) else value


#: the options each kind takes
OPTIONS = {"randn": ("scale",), "uniform": ("low", "high"), "away": ("gap",), "distinct": ("scale",),
           "randint": ("high",), "mask": ("p",)}


def _draw(text: str, rng, where: str) -> np.ndarray:
    kind, _, rest = text.partition(":")
    shape_text, _, options_text = rest.partition(":")
    shape = _shape(shape_text, where)
    options = _options(options_text, where)
    _check_options(kind, options, where)
    size = int(np.prod(shape)) if shape else 1
    if kind == "randn":
        return options.get("scale", 1.0) * rng.standard_normal(shape)
    if kind == "rand":
        return rng.random(shape)
    if kind in ("uniform", "positive"):
        low, high = (options.get("low", 0.0), options.get("high", 1.0)) if kind == "uniform" else (0.5, 1.5)
        return rng.uniform(low, high, shape)
    if kind == "away":
        x = rng.standard_normal(shape)
        return x + options.get("gap", 0.05) * np.where(x >= 0, 1.0, -1.0)
    if kind == "distinct":
        return (rng.permutation(size).reshape(shape) - size / 2) * options.get("scale", 0.1)
    if kind == "randint":
        return rng.integers(0, int(options.get("high", 10)), size=shape)
    if kind == "mask":
        return rng.random(shape) < options.get("p", 0.5)
    return np.zeros(shape) if kind == "zeros" else np.ones(shape)


def _check_options(kind: str, options: dict, where: str) -> None:
    """Options the kind takes, with values numpy can draw from (else one clear line, not numpy's error)."""
    allowed = OPTIONS.get(kind, ())
    for key, value in options.items():
        if key not in allowed:
            takes = f"takes {', '.join(allowed)}" if allowed else "takes no options"
            raise InputError(f"{where}: {kind} has no option {key!r} ({kind} {takes})")
        if not np.isfinite(value):
            raise InputError(f"{where}: option {key}={value} is not a finite number")
    if kind == "randint" and not (options.get("high", 10) == int(options.get("high", 10)) and
                                  1 <= options.get("high", 10) <= 2 ** 62):
        raise InputError(f"{where}: randint draws from 0 … high − 1: high must be a whole number ≥ 1, not "
                         f"{options['high']:g}")
    if kind == "uniform" and options.get("low", 0.0) > options.get("high", 1.0):
        raise InputError(f"{where}: uniform needs low ≤ high, not low={options.get('low', 0.0):g}, "
                         f"high={options.get('high', 1.0):g}")
    if kind == "mask" and not 0 <= options.get("p", 0.5) <= 1:
        raise InputError(f"{where}: mask's p is a probability (0 … 1), not {options['p']:g}")


def _shape(text: str, where: str) -> tuple:
    try:
        shape = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"{where}: shape {text!r} is not whole numbers separated by commas (e.g. 2,3,7,7)") from None
    if any(n <= 0 for n in shape):
        raise InputError(f"{where}: every size in the shape {text!r} must be at least 1")
    if int(np.prod(shape)) > 10 ** 7:
        raise InputError(f"{where}: the shape {text!r} has more than 10 million entries")
    return shape


def _options(text: str, where: str) -> dict:
    options = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            options[key.strip()] = float(value)
        except ValueError:
            raise InputError(f"{where}: option {part!r} is not KEY=NUMBER (e.g. high=10)") from None
        if not sep:
            raise InputError(f"{where}: option {part!r} is not KEY=NUMBER (e.g. high=10)")
    return options


def _literal_array(value: list, where: str) -> np.ndarray:
    try:
        array = np.array(value)
    except ValueError as error:
        raise InputError(f"{where}: the list is not a rectangular array ({error})") from None
    if array.dtype.kind not in "biuf":
        raise InputError(f"{where}: the list holds {array.dtype} values, not numbers")
    return array.astype(float) if array.dtype.kind == "f" else array


def _load(path: str, where: str) -> np.ndarray:
    """One array from a .npy file; anything else (empty, truncated, not .npy, pickled objects, an .npz
    archive, strings) is bad input."""
    try:
        with open(path, "rb") as file:
            array = np.load(file, allow_pickle=False)
            if not isinstance(array, np.ndarray):   # an .npz archive: many arrays, which one?
                raise ValueError(f"it holds {type(array).__name__}, not one array (save it with np.save)")
    except MemoryError:
        raise InputError(f"{where}: {path!r} claims an array too large for this machine") from None
    except Exception as error:  # noqa: BLE001 - numpy's reading fails in many ways: all of them are the file's
        why = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise InputError(f"{where}: cannot load {path!r} as a .npy array ({why})") from None
    if array.dtype.kind not in "biuf":
        raise InputError(f"{where}: {path!r} holds {array.dtype} values, not real numbers")
    return array


def named_arguments(items: list[str], parameters: list[str], rng, defaults: dict | None = None) -> list:
    """The positional arguments from ``NAME=SPEC`` items (the command line's ``--arg``), in the order of
    ``parameters``; every parameter needs a value (``defaults`` fill what the function gives a default)."""
    given = {}
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--arg {item!r}: write NAME=SPEC, e.g. x=randn:2,3,7,7")
        if name not in parameters:
            raise InputError(f"--arg {name}: the function has no parameter {name!r} (it takes "
                             f"{', '.join(parameters) or 'no arguments'})")
        given[name] = parse_value(spec, rng, f"--arg {name}")
    return arguments_from(given, parameters, defaults or {}, "--arg")


def arguments_from(given: dict, parameters: list[str], defaults: dict, where: str) -> list:
    missing = [p for p in parameters if p not in given and p not in defaults]
    if missing:
        raise InputError(f"{where}: no value for {', '.join(missing)} (give every parameter: "
                         f"{', '.join(parameters)})")
    last = max([parameters.index(p) for p in given] + [-1])
    return [given[p] if p in given else defaults[p] for p in parameters[:last + 1]]


def layer_specs(path: str) -> dict:
    """A spec file: a JSON object from function (or layer) names to their arguments by parameter name,
    ``{"conv_forward_naive": {"x": "randn:2,3,7,7", …}}``, or to ``{"args": {…}, "inputs": […],
    "outputs": N}``."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"--spec: no file {path!r}")
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"--spec: {path} is not JSON: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError(f"--spec: {path} must be an object from names to objects of arguments")
    return data
