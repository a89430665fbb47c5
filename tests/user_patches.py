"""User code that patches library or builtin code gradproof computes with (tests/test_patched_namespaces.py,
adversarial findings F01, F02, F05): each ``PATCHES[name]`` is (what a backward, a forward, a recurrence or
a module body might run, words of gradproof's refusal). :func:`state` reads everything they touch, so a
test can show the process was put back."""

import abc
import builtins
import importlib.abc
import math
import sys
import types

import mpmath
import numpy as np
import sympy as sp
from sympy.external.pythonmpq import PythonMPQ

from gradproof.derive.model.network import Network
from gradproof.numeric.compiled.matrix import psi_gradient
from gradproof.numeric.layers import evaluation

AMAX = np.max._implementation          # numpy's Python function behind np.max
ISCLOSE = np.isclose._implementation
SUB_WRAPPER = vars(sp.Expr)["__sub__"]  # sympy's decorator wrapper: its closure holds the real __sub__


def _zero(*args, **kwargs):
    return 0 * args[0] if args else 0.0


def _builtins_abs():
    builtins.abs = lambda x: 0 * x


def _numpy_abs():
    np.abs = _zero


def _numpy_max():
    np.max = _zero


def _math_isfinite():
    math.isfinite = lambda x: True


def _expr_sub():
    sp.Expr.__sub__ = lambda self, other: sp.S.Zero


def _add_sub():   # a new name on a class, over the inherited Expr.__sub__
    sp.Add.__sub__ = lambda self, other: sp.S.Zero


def _mpq_bool():
    PythonMPQ.__bool__ = lambda self: False


def _code_swapped():
    AMAX.__code__ = _zero.__code__


def _defaults_swapped():
    ISCLOSE.__defaults__ = (10.0, 10.0, False)


def _closure_cell():
    SUB_WRAPPER.__closure__[1].cell_contents = lambda self, other: sp.S.Zero


def _sys_modules():
    sys.modules["numpy.linalg"] = types.ModuleType("numpy.linalg")


def _gradproof_own():
    evaluation.contract = lambda douts, outs: 0.0


def _public_constant():
    math.inf = 0.0


def _stdlib_class():
    abc.ABCMeta.__instancecheck__ = lambda cls, instance: True


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        return None


def _finder_first():
    sys.meta_path.insert(0, _Finder())


class _Module(types.ModuleType):
    def __getattribute__(self, name):
        return _zero if name == "max" else super().__getattribute__(name)


def _module_class():
    np.__class__ = _Module


ZERO = sp.S.Zero   # installed in the registry on first use: used here


def _singleton():
    type(sp.S).Zero = sp.S.One


def _mpmath_context():
    mpmath.mp.exp = lambda x: 0


#: name → (the patch, words of the refusal)
PATCHES = {"builtins.abs": (_builtins_abs, "replaced builtins.abs"),
           "numpy.abs": (_numpy_abs, "replaced numpy.abs"),
           "numpy.max": (_numpy_max, "replaced numpy.max"),
           "math.isfinite": (_math_isfinite, "replaced math.isfinite"),
           "Expr.__sub__": (_expr_sub, "replaced sympy.core.expr.Expr.__sub__"),
           "Add.__sub__ added": (_add_sub, "added sympy.core.add.Add.__sub__"),
           "PythonMPQ.__bool__": (_mpq_bool, "replaced sympy.external.pythonmpq.PythonMPQ.__bool__"),
           "__code__ swapped": (_code_swapped, "in place (__code__)"),
           "__defaults__ swapped": (_defaults_swapped, "in place (__defaults__)"),
           "closure cell": (_closure_cell, "in place (closure cell 1)"),
           "sys.modules": (_sys_modules, "replaced sys.modules['numpy.linalg']"),
           "gradproof's own": (_gradproof_own, "replaced gradproof.numeric.layers.evaluation.contract"),
           "public constant": (_public_constant, "replaced math.inf"),
           "stdlib class": (_stdlib_class, "replaced abc.ABCMeta.__instancecheck__"),
           "finder first": (_finder_first, "changed sys.meta_path"),
           "module class": (_module_class, "changed the class of the module numpy"),
           "S.Zero": (_singleton, "replaced sympy.core.singleton.SingletonRegistry.Zero"),
           "mpmath context": (_mpmath_context, "replaced mpmath.mp.exp")}

#: which patch the code below applies (set by a test)
CHOICE = {"patch": None}


def install():
    if CHOICE["patch"] is not None:
        PATCHES[CHOICE["patch"]][0]()


def state() -> tuple:
    """Everything the patches touch, by identity."""
    return (builtins.abs, np.abs, np.max, math.isfinite, math.inf, vars(sp.Expr)["__sub__"], "__sub__" in vars(sp.Add),
            vars(PythonMPQ)["__bool__"], AMAX.__code__, ISCLOSE.__defaults__, SUB_WRAPPER.__closure__[1].cell_contents,
            sys.modules["numpy.linalg"], evaluation.contract, vars(abc.ABCMeta)["__instancecheck__"],
            tuple(sys.meta_path), type(np), sp.S.Zero, vars(mpmath.mp)["exp"])


def sq_forward(x):
    return x ** 2, x


def sq_backward(dout, cache):
    """Wrong: 3x where the derivative of x² is 2x (1.5 times the gradient)."""
    install()
    return 3 * dout * cache


def right_backward(dout, cache):
    return 2 * dout * cache


def doubled_recurrence(sym):
    """Wrong: twice ∂E/∂w, by sympy.diff."""
    error = sum((a - y) ** 2 for a, y in zip(sym.output, sym.y)) / 2
    grads = [sp.Matrix(w.shape[0], w.shape[1], lambda i, j: 2 * sp.diff(error, w[i, j])) for w in sym.wbar]
    install()
    return grads


NETWORK = Network.from_spec("2,3,2")


def doubled_backward(wbar, x, y):
    """Wrong: twice the Ψ recurrence's gradient."""
    install()
    return [2 * g for g in psi_gradient(NETWORK, wbar, x[:, None], y[:, None])]
