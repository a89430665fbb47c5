"""A layer as people write it, read into one form: inputs to perturb, outputs, and the gradients it claims.

The conventions, unchanged (the user's code is never edited):

- ``pair``: ``out, cache = NAME_forward(*args)`` and ``grads = NAME_backward(dout, cache)``; with several
  outputs ``out1, out2, cache = NAME_forward(...)`` and ``NAME_backward(dout1, dout2, cache)``.
- ``loss``: ``loss, dx = NAME_loss(x, y)`` (the gradient of the first argument; ``inputs`` says otherwise).
- ``function``: ``value = f(*args)`` a scalar, and ``grads = gradient(*args)``.
- ``module``: an object whose ``forward(*inputs)`` returns the output and ``backward(*douts)`` returns the
  inputs' gradients, keeping parameters and their gradients as attributes (``layer.W`` / ``layer.dW``,
  ``grad_W``, ``W_grad``, or ``layer.params['W']`` / ``layer.grads['W']``).
- ``torch``: a ``torch.autograd.Function`` subclass (``forward(ctx, …)``, ``backward(ctx, grad_out)``),
  called through ``apply`` so that torch routes the upstream gradient to the user's backward.

Floating-point arrays are the differentiable inputs, in argument order; integer arrays, boolean masks,
option dicts, strings and scalars pass through. A :class:`Layer` runs the user's functions directly: the
caller runs it under :func:`gradproof.derive.usercode.guard.call`, which names what broke. Every call gets
fresh copies of the arguments, so code that changes its arguments in place changes nothing here.
This module needs numpy only (no sympy); torch is used only when the user hands a torch Function, whose
module is then already imported.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import inspect
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gradproof.derive.errors import InputError
from gradproof.derive.usercode import guard

KINDS = ("pair", "loss", "function", "module", "torch")
#: where a class keeps the gradient of parameter P
GRADIENT_NAMES = ("d{}", "grad_{}", "{}_grad", "d_{}", "grad{}")


class ConventionError(InputError):
    """The layer does not fit the convention it was read in (wrong count of gradients, no cache, …)."""


class Unfinished(Exception):
    """The user's function returned None: unfinished code, reported as such (not as an error)."""


@dataclass(frozen=True)
class Slot:
    """One differentiable input: an argument (``position``) or an attribute of a module (``attribute``)."""

    name: str
    position: int | None = None
    attribute: str | None = None
    gradient_attribute: str | None = None

    @property
    def gradient(self) -> str:
        """The gradient's name in reports: dx for x, dW for W."""
        return "d" + self.name if not self.name.startswith("d") else "d_" + self.name


def is_float_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def parameter_names(function: Callable, skip: int = 0) -> list[str]:
    """The positional parameter names of ``function`` (after ``skip`` leading ones: self, ctx)."""
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][skip:]


def is_torch_function(obj) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, type) and issubclass(obj, torch.autograd.Function)


@dataclass
class Layer:
    """One layer at one point: ``values()`` are its differentiable inputs, ``outputs(values)`` runs the
    forward, ``gradients(values, douts)`` runs forward then backward and returns what the backward claims
    (one entry per slot, as returned: not yet checked for shape or type)."""

    name: str
    kind: str
    slots: tuple[Slot, ...]
    args: tuple
    forward: Callable = field(repr=False)
    backward: Callable | None = field(default=None, repr=False)
    n_outputs: int | None = None          # pair: how many leading results are outputs (None: all but the cache)
    forward_name: str = "forward"
    backward_name: str = "backward"
    module: object = field(default=None, repr=False)

    @property
    def is_scalar(self) -> bool:
        """Losses and plain functions: one scalar output, upstream gradient 1."""
        return self.kind in ("loss", "function")

    def values(self) -> list[np.ndarray]:
        """Copies of the differentiable inputs at this point."""
        return [np.array(self._get(slot), copy=True) for slot in self.slots]

    def call_args(self, values: Sequence[np.ndarray]) -> list:
        """The forward's arguments with ``values`` in the slots: fresh copies of everything."""
        args = [copy.deepcopy(a) for a in self.args]
        for slot, value in zip(self.slots, values):
            if slot.position is not None:
                args[slot.position] = np.array(value, copy=True)
        if self.module is not None:
            for slot, value in zip(self.slots, values):
                if slot.attribute is not None:
                    _set_parameter(self.module, slot.attribute, np.array(value, copy=True))
        return args

    def outputs(self, values: Sequence[np.ndarray]) -> tuple:
        """The forward's outputs (not its cache) at ``values``."""
        return self.split(self.run_forward(values))[0]

    def run_forward(self, values: Sequence[np.ndarray], seen: dict | None = None):
        """The forward's whole result; ``seen["args"]`` receives the arguments it was handed."""
        with self._parameters_kept(), guard.kept(self.forward_name):
            return self._run_forward(values, seen)

    @contextlib.contextmanager
    def _parameters_kept(self):
        """A module's parameters as they were, whatever the evaluation set them to."""
        if self.module is None:
            yield
            return
        kept = {s.attribute: _get_parameter(self.module, s.attribute) for s in self.slots if s.attribute}
        try:
            yield
        finally:
            for attribute, value in kept.items():
                _set_parameter(self.module, attribute, value)

    def _run_forward(self, values, seen):
        args = self.call_args(values)
        if seen is not None:
            seen["args"] = args
        if self.kind == "torch":
            return _torch_forward(self.forward, args, self.slots)
        return self.forward(*args)

    def split(self, result) -> tuple[tuple, object]:
        """(outputs, what the backward needs) from the forward's result."""
        if result is None:
            raise Unfinished(f"{self.forward_name} returned None")
        if self.kind == "pair":
            return _split_pair(result, self.n_outputs, self.forward_name)
        if self.kind == "loss":
            if not isinstance(result, tuple) or len(result) < 2:
                raise ConventionError(f"{self.forward_name} returned {_kind(result)}: a loss returns "
                                      "(loss, dx)")
            return (result[0],), result[1:]
        outs = result if isinstance(result, tuple) else (result,)
        return outs, None

    def gradients(self, values: Sequence[np.ndarray], douts: Sequence, seen: dict | None = None) -> tuple:
        """(outputs, claimed gradients in slot order) at ``values`` for upstream gradients ``douts``;
        ``seen`` receives the arguments and the upstream gradients the user's functions were handed."""
        if self.kind == "torch":
            with guard.kept(self.backward_name):
                return _torch_gradients(self, values, douts)
        with self._parameters_kept(), guard.kept(self.backward_name):
            return self._gradients(values, douts, seen)

    def _gradients(self, values, douts, seen):
        outs, cache = self.split(self._run_forward(values, seen))
        if self.kind == "loss":
            return outs, self._arrange(cache[0] if len(cache) == 1 else cache, self.forward_name)
        douts = [np.array(d, copy=True) for d in douts]
        if seen is not None:
            seen["douts"] = douts
        if self.kind == "pair":
            returned = self.backward(*douts, cache)
        elif self.kind == "function":
            returned = self.backward(*self.call_args(values))
        else:
            returned = self.backward(*douts)
            return outs, self._module_gradients(returned)
        return outs, self._arrange(returned, self.backward_name)

    def _arrange(self, returned, who: str) -> tuple:
        """One gradient per slot from what the backward returned (an array, a tuple, a list or a dict)."""
        if returned is None:
            raise Unfinished(f"{who} returned None")
        if isinstance(returned, dict):
            missing = [s.gradient for s in self.slots if s.gradient not in returned and s.name not in returned]
            if missing:
                raise ConventionError(f"{who} returned a dict without {', '.join(missing)} "
                                      f"(it has {', '.join(map(str, returned))})")
            return tuple(returned.get(s.gradient, returned.get(s.name)) for s in self.slots)
        grads = tuple(returned) if isinstance(returned, (tuple, list)) else (returned,)
        if len(self.slots) == 1 and isinstance(returned, np.ndarray):
            grads = (returned,)
        if len(grads) != len(self.slots):
            names = ", ".join(s.name for s in self.slots)
            raise ConventionError(
                f"{who} returned {len(grads)} gradient{'s' * (len(grads) != 1)} for {len(self.slots)} "
                f"differentiable input{'s' * (len(self.slots) != 1)} ({names}): name the inputs it "
                "differentiates with inputs=… (--inputs on the command line)")
        return grads

    def _module_gradients(self, returned) -> tuple:
        argument_slots = [s for s in self.slots if s.position is not None]
        if argument_slots:
            layer = Layer(self.name, "pair", tuple(argument_slots), self.args, self.forward)
            from_return = list(layer._arrange(returned, self.backward_name))
        else:
            from_return = []
        grads = []
        for slot in self.slots:
            if slot.position is not None:
                grads.append(from_return.pop(0))
            else:
                where = slot.gradient_attribute or gradient_attribute(self.module, slot.attribute)
                grads.append(None if where is None else _get_parameter(self.module, where))
        return tuple(grads)

    def _get(self, slot: Slot):
        if slot.position is not None:
            return self.args[slot.position]
        return _get_parameter(self.module, slot.attribute)


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _split_pair(result, n_outputs: int | None, who: str) -> tuple[tuple, object]:
    if not isinstance(result, tuple):
        raise ConventionError(f"{who} returned {_kind(result)}, not (out, cache): the convention is "
                              "`out, cache = NAME_forward(...)` (for a scalar function give its gradient "
                              "function as the backward)")
    if len(result) < 2:
        raise ConventionError(f"{who} returned a tuple of {len(result)}: the convention is (out, cache)")
    k = len(result) - 1 if n_outputs is None else n_outputs
    if not 1 <= k < len(result):
        raise ConventionError(f"outputs={k}, but {who} returned {len(result)} values (outputs then the cache)")
    cache = result[k] if len(result) == k + 1 else result[k:]
    return tuple(result[:k]), cache


# ----------------------------------------------------------------------------- modules (classes)

def _get_parameter(module, name: str):
    if name.startswith("params[") or name.startswith("grads["):
        table, key = name[:-2].split("['")
        return getattr(module, table)[key]
    return getattr(module, name)


def _set_parameter(module, name: str, value) -> None:
    if name.startswith("params["):
        module.params[name[len("params['"):-2]] = value
    else:
        setattr(module, name, value)


def module_parameters(module) -> dict[str, np.ndarray]:
    """The float arrays a module holds before it runs: its parameters (attributes and ``params``)."""
    found = {name: value for name, value in vars(module).items() if is_float_array(value)}
    params = getattr(module, "params", None)
    if isinstance(params, dict):
        found.update({f"params['{k}']": v for k, v in params.items() if is_float_array(v)})
    return found


def gradient_attribute(module, parameter: str) -> str | None:
    """Where the module keeps the gradient of ``parameter`` after its backward (None: nowhere found)."""
    shape = np.shape(_get_parameter(module, parameter))
    if parameter.startswith("params["):
        key = parameter[len("params['"):-2]
        grads = getattr(module, "grads", None)
        if isinstance(grads, dict) and key in grads and np.shape(grads[key]) == shape:
            return f"grads['{key}']"
        return None
    for pattern in GRADIENT_NAMES:
        name = pattern.format(parameter)
        if name != parameter and isinstance(getattr(module, name, None), np.ndarray):
            return name
    return None


# ----------------------------------------------------------------------------- torch Functions

def _torch_forward(function_class, args, slots):
    torch = sys.modules["torch"]
    with torch.no_grad():
        out = function_class.apply(*[_to_tensor(torch, a) for a in args])
    return _from_tensors(out)


def _torch_gradients(layer: Layer, values, douts):
    torch = sys.modules["torch"]
    args = [_to_tensor(torch, a) for a in layer.call_args(values)]
    leaves = [args[s.position].requires_grad_(True) for s in layer.slots]
    out = layer.forward.apply(*args)
    outs = out if isinstance(out, tuple) else (out,)
    grads = torch.autograd.grad(outs, leaves, [torch.as_tensor(np.asarray(d)) for d in douts],
                                allow_unused=True)
    return _from_tensors(outs), tuple(None if g is None else g.detach().numpy() for g in grads)


def _to_tensor(torch, value):
    if isinstance(value, np.ndarray) and value.dtype.kind in "fcib":
        return torch.from_numpy(np.array(value, copy=True))
    return value


def _from_tensors(out):
    torch = sys.modules["torch"]
    if isinstance(out, tuple):
        return tuple(o.detach().numpy() if isinstance(o, torch.Tensor) else o for o in out)
    return out.detach().numpy() if isinstance(out, torch.Tensor) else out


# ----------------------------------------------------------------------------- reading a layer

def read_layer(forward, backward, args, *, kind: str | None = None, inputs=None, outputs: int | None = None,
               name: str | None = None) -> Layer:
    """The :class:`Layer` for ``forward``/``backward`` at ``args``, in the convention they are written in.

    ``kind`` is one of :data:`KINDS` (None: recognised; a pair or a plain function is told apart by what
    the forward returns, see :func:`settle_kind`); ``inputs`` the differentiable inputs by name or
    position (None: the float arrays; a loss: its first argument); ``outputs`` how many leading values
    of a pair's forward are outputs (None: all but the last, the cache)."""
    if not isinstance(args, (tuple, list)):
        raise InputError(f"args must be the tuple of the forward's positional arguments, not {_kind(args)}")
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown convention {kind!r}: choose one of {', '.join(KINDS)}")
    module = _module_of(forward, backward)
    if is_torch_function(forward):
        kind, names, fname, bname = "torch", parameter_names(forward.forward, skip=1), "forward", "backward"
        fname, bname = f"{forward.__name__}.forward", f"{forward.__name__}.backward"
    elif module is not None or kind == "module":
        module = forward if module is None else module
        kind, names = "module", parameter_names(module.forward)
        fname, bname = f"{type(module).__name__}.forward", f"{type(module).__name__}.backward"
        forward, backward = module.forward, module.backward
    else:
        if not callable(forward):
            raise InputError(f"the forward must be a function, not {_kind(forward)}")
        if backward is not None and not callable(backward):
            raise InputError(f"the backward must be a function, not {_kind(backward)}")
        kind = kind or ("loss" if backward is None else None)
        names, fname = parameter_names(forward), getattr(forward, "__name__", "forward")
        bname = getattr(backward, "__name__", "backward") if backward is not None else fname
    names = names + [f"arg{i}" for i in range(len(names), len(args))]
    slots = _slots(args, names[:len(args)], inputs, kind, module)
    return Layer(name or _layer_name(fname), kind, slots, tuple(args), forward, backward, outputs, fname, bname,
                 module)


def settle_kind(layer: Layer, result) -> Layer:
    """A layer read without a kind, once its forward has returned ``result``: a scalar makes it a plain
    function (the backward is its gradient function), anything else a forward/backward pair."""
    if layer.kind is not None:
        return layer
    scalar = isinstance(result, (int, float, np.number)) or (isinstance(result, np.ndarray) and result.ndim == 0)
    return _replace(layer, kind="function" if scalar else "pair")


def settle_module(layer: Layer) -> Layer:
    """A module layer after one backward: keep the parameters it stored a gradient for."""
    if layer.kind != "module":
        return layer
    slots = []
    for slot in layer.slots:
        if slot.attribute is None:
            slots.append(slot)
            continue
        found = gradient_attribute(layer.module, slot.attribute)
        if found is not None:
            slots.append(Slot(slot.name, None, slot.attribute, found))
    if not slots:
        raise ConventionError(f"{layer.forward_name} has no float array input and {type(layer.module).__name__} "
                              "keeps no parameter gradient (looked for dW, grad_W, W_grad, grads['W'])")
    return _replace(layer, slots=tuple(slots))


def _replace(layer: Layer, **changes) -> Layer:
    fields = dict(vars(layer))
    fields.update(changes)
    return Layer(**fields)


def _module_of(forward, backward):
    """The object behind a module-style layer: an instance with forward/backward, or its bound forward."""
    owner = getattr(forward, "__self__", None)
    if owner is not None and not isinstance(owner, type) and hasattr(owner, "backward") and \
            (backward is None or getattr(backward, "__self__", None) is owner):
        return owner
    if not callable(forward) or (not inspect.isroutine(forward) and not isinstance(forward, type)):
        if hasattr(forward, "forward") and hasattr(forward, "backward"):
            return forward
    return None


def _layer_name(function_name: str) -> str:
    base = function_name.split(".")[0] if "." in function_name else function_name
    return base.replace("_forward", "") if "_forward" in base else base


def _slots(args, names, inputs, kind, module) -> tuple[Slot, ...]:
    if inputs is not None:
        slots = tuple(_named_slot(item, args, names, module) for item in _as_list(inputs))
    elif kind == "loss":
        first = [i for i, a in enumerate(args) if is_float_array(a)][:1]
        slots = tuple(Slot(names[i], i) for i in first)
    else:
        slots = tuple(Slot(names[i], i) for i, a in enumerate(args) if is_float_array(a))
    if module is not None and inputs is None:
        slots += tuple(Slot(_short(p), None, p) for p in module_parameters(module))
    if not slots and module is None:
        raise InputError("no differentiable input: none of the arguments is a float array (give float64 "
                         "arrays, or name the inputs with inputs=…)")
    for slot in slots:
        if slot.position is not None and not is_float_array(args[slot.position]):
            raise InputError(f"input {slot.name!r} is {_kind(args[slot.position])} of dtype "
                             f"{getattr(args[slot.position], 'dtype', '?')}: only float arrays can be perturbed")
    return slots


def _short(parameter: str) -> str:
    return parameter[len("params['"):-2] if parameter.startswith("params[") else parameter


def _as_list(inputs) -> list:
    if isinstance(inputs, str):
        return [item.strip() for item in inputs.split(",") if item.strip()]
    return list(inputs)


def _named_slot(item, args, names, module) -> Slot:
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        if not 0 <= item < len(args):
            raise InputError(f"inputs: position {item} is out of range (the forward has {len(args)} arguments)")
        return Slot(names[item], int(item))
    if item in names:
        return Slot(item, names.index(item))
    if module is not None:
        for parameter in module_parameters(module):
            if item in (parameter, _short(parameter)):
                return Slot(_short(parameter), None, parameter)
    raise InputError(f"inputs: no argument named {item!r} (the forward's arguments: {', '.join(names)})")


def why_none(function) -> str:
    """Why ``function`` returns None, read from its source: "its body is `pass`", "it has no return
    statement", or "" where the source cannot be read or says neither."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return ""
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) else []
    code = [node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    if all(isinstance(node, ast.Pass) for node in code):
        return "its body is `pass`"
    returns = [n for node in body for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
    return "" if returns else "it has no return statement"
