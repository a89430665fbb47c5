"""Arguments for a layer from short specs: ``randn:2,3,7,7``, ``randint:5:high=4``, ``{"stride": 1}``.

A spec is one of

- ``KIND:SHAPE[:KEY=VALUE,…]`` — an array drawn from the check's seed. KIND is ``randn`` (standard normal;
  ``scale=``), ``rand`` (uniform on [0, 1)), ``uniform`` (``low=``, ``high=``), ``positive`` (uniform on
  [0.5, 1.5): scales, variances, γ), ``away`` (standard normal kept at least ``gap=0.05`` from 0: inputs
  of relu-like layers), ``distinct`` (no two entries closer than 0.1: max pooling without ties),
  ``randint`` (integers in [0, ``high=10``): labels, word indices), ``mask`` (booleans, True with
  probability ``p=0.5``), ``zeros``, ``ones``; SHAPE is comma-separated whole numbers (``randn:4`` is a
  vector, ``randn:`` a 0-d array);
- ``npy:PATH`` — an array saved with ``numpy.save``;
- JSON — an object (option dicts: ``{"stride": 1, "pad": 1}``), a list (a literal array: integers give
  an integer array, booleans a mask, anything else float64), a number, a string, ``true``/``false``/``null``;
- a word: text starting with a letter or ``_`` (``train``), passed as that string.

Everything else is bad input (:class:`InputError`, one line), never a value the user did not mean: a kind
without its shape (``randn``) or unknown (``randm:3``), a number JSON does not write (``.5``, ``+1``) or
Python's ``True``/``None``, a value that is not finite anywhere (``nan``, ``1e400``, ``[NaN]``, ``{"eps":
Infinity}``, an .npy file or a draw holding one: a derivative is checked at finite points only), a key
or an option given twice, and, in :func:`named_arguments`, a parameter given twice. Dicts and lists inside
JSON are taken literally; a spec file (:func:`layer_specs`) gives the arguments of each function by
parameter name, read by the same strict JSON.
"""

from __future__ import annotations

import json
import math
import re
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
    if not text:
        raise InputError(f"{where}: no value (write NAME=SPEC, e.g. x=randn:2,3)")
    if head in KINDS + ("npy",) and ":" not in text:
        example = "npy:FILE.npy" if head == "npy" else f"{head}:2,3 (or {head}: for a 0-d array)"
        raise InputError(f"{where}: {head} needs what follows a colon: {example}")
    if head in KINDS:
        return _finite_draw(text, rng, where)
    if head == "npy":
        return _load(text[4:], where)
    try:
        value = strict_json(text, where)
    except json.JSONDecodeError:
        if text[:1] in '{["':
            raise InputError(f"{where}: {text!r} looks like JSON but does not parse") from None
        return _word(text, where)
    return _literal_array(value, where) if isinstance(value, list) else value


def strict_json(text: str, where: str):
    """``json.loads`` refusing what would be a silent wrong value: NaN, ±Infinity and numbers beyond float64
    (1e400 would be inf), and an object with a key given twice (the last would win)."""
    def constant(name):
        raise InputError(f"{where}: {name} is not a finite number: arguments must be finite (a derivative is "
                         "checked at finite points only)")

    def number(digits):
        value = float(digits)
        if not math.isfinite(value):
            raise InputError(f"{where}: {digits} is beyond float64's range (it would be {value})")
        return value

    def unique(pairs):
        keys = [key for key, _ in pairs]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise InputError(f"{where}: the key {twice[0]!r} is given twice")
        return dict(pairs)

    return json.loads(text, parse_constant=constant, parse_float=number, object_pairs_hook=unique)


#: Python's spellings of JSON's constants
PYTHON_CONSTANTS = {"True": "true", "False": "false", "None": "null"}


def _word(text: str, where: str) -> str:
    """``text`` as a word (starting with a letter or _), or why it is none: a number JSON does not write, a
    non-finite one, Python's True/False/None, an unknown KIND:…"""
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and not math.isfinite(number):
        raise InputError(f"{where}: {text} is not a finite number: arguments must be finite (a derivative is "
                         "checked at finite points only)")
    if number is not None:
        plain = text.lstrip("+").replace("_", "")
        written = plain if re.fullmatch(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?", plain) else json.dumps(number)
        raise InputError(f"{where}: write the number {text!r} as JSON does: {written}")
    if text in PYTHON_CONSTANTS:
        raise InputError(f"{where}: write {text} as JSON does: {PYTHON_CONSTANTS[text]}")
    head = text.split(":", 1)[0]
    if ":" in text and re.fullmatch(r"[A-Za-z_]\w*", head):
        raise InputError(f"{where}: unknown kind {head!r} in {text!r} (kinds: {', '.join(KINDS)}, npy; the text "
                         f"itself is written as a JSON string: '{json.dumps(text)}')")
    if not (text[0].isalpha() or text[0] == "_"):
        raise InputError(f"{where}: {text!r} is neither KIND:SHAPE, npy:FILE, JSON, nor a word (a word starts "
                         f"with a letter; other text is written as a JSON string: '{json.dumps(text)}')")
    return text


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


def _finite_draw(text: str, rng, where: str) -> np.ndarray:
    """:func:`_draw`, where options that push the draw beyond float64 (``randn:3:scale=1e308``, ``uniform``
    over ±1e308) are bad input, not inf or NaN passed on (nor numpy's overflow)."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            array = np.asarray(_draw(text, rng, where))   # randn: is a 0-d array, not a numpy scalar
    except OverflowError:
        array = np.array([np.inf])
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise InputError(f"{where}: {text!r} draws values beyond float64's range (inf or NaN): scale it down")
    return array


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
    if kind == "distinct" and options.get("scale", 0.1) == 0:
        raise InputError(f"{where}: distinct's entries are scale apart: scale=0 makes them all equal (ties)")
    if kind == "away" and options.get("gap", 0.05) < 0:
        raise InputError(f"{where}: away keeps entries at least gap from 0: gap must be ≥ 0, not {options['gap']:g}")


def _shape(text: str, where: str) -> tuple:
    """The sizes in ``text`` ("" for a 0-d array); an empty size (``2,,3``, ``4,``) is a typo, not a skip."""
    try:
        shape = tuple(int(part) for part in text.split(",")) if text.strip() else ()
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
            number = float(value)
        except ValueError:
            raise InputError(f"{where}: option {part!r} is not KEY=NUMBER (e.g. high=10)") from None
        if not sep:
            raise InputError(f"{where}: option {part!r} is not KEY=NUMBER (e.g. high=10)")
        if key.strip() in options:
            raise InputError(f"{where}: option {key.strip()} is given twice")
        options[key.strip()] = number
    return options


def _literal_array(value: list, where: str) -> np.ndarray:
    try:
        array = np.array(value)
    except ValueError as error:
        raise InputError(f"{where}: the list is not a rectangular array ({error})") from None
    if array.size == 0:
        raise InputError(f"{where}: the list has no entries (every size must be at least 1, as for randn:…)")
    if array.dtype.kind not in "biuf":
        raise InputError(f"{where}: the list holds {array.dtype} values, not numbers")
    if array.dtype.kind != "b" and _holds_booleans(value):
        raise InputError(f"{where}: the list mixes booleans (a mask) with numbers: numpy would make the booleans 0 "
                         "and 1")
    return _finite(array.astype(float) if array.dtype.kind == "f" else array, "the list", where)


def _holds_booleans(value) -> bool:
    return isinstance(value, bool) or isinstance(value, list) and any(_holds_booleans(v) for v in value)


def _finite(array: np.ndarray, what: str, where: str) -> np.ndarray:
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise InputError(f"{where}: {what} holds {array[bad]} at {bad}: arguments must be finite (a derivative is "
                         "checked at finite points only)")
    return array


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
    return _finite(array, repr(path), where)


def named_arguments(items: list[str], parameters: list[str], rng, defaults: dict | None = None) -> list:
    """The positional arguments from ``NAME=SPEC`` items (the command line's ``--arg``), in the order of
    ``parameters``; every parameter needs a value (``defaults`` fill what the function gives a default)."""
    given, specs = {}, {}
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--arg {item!r}: write NAME=SPEC, e.g. x=randn:2,3,7,7")
        if name not in parameters:
            raise InputError(f"--arg {name}: the function has no parameter {name!r} (it takes "
                             f"{', '.join(parameters) or 'no arguments'})")
        if name in specs:
            raise InputError(f"--arg {name} is given twice ({specs[name]!r} and {spec!r}): give each parameter once")
        specs[name] = spec
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
        data = strict_json(file.read_text(), f"--spec {path}")
    except json.JSONDecodeError as error:
        raise InputError(f"--spec: {path} is not JSON: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError(f"--spec: {path} must be an object from names to objects of arguments")
    return data
