"""The watch runs none of the user's code while it reviews, and sees what a namespace alone does not show
(adversarial round 24; each attack below made a wrong backward agree, or stayed in the process, before):

- F1: code of the user's run *inside* the review (a metaclass's ``__hash__``/``__eq__``, a ``str`` subclass
  as a name): its patch was taken into the snapshot;
- F2: a class attribute added and removed behind the class's back, looked up in between: CPython's type
  cache kept answering with it;
- F3: the dict of a type Python does not let code change (``np.ndarray``), written through ``gc``;
- F4: an object's class swapped (sympy's ``S.Zero``, a watched class's metaclass).

Each attack is on a wrong backward (1.5× the derivative): the check must not agree, and nothing may stay."""

import gc

import numpy as np
import pytest
import sympy

import gradproof
import gradproof.numeric.layers.check as layer_check
from gradproof.derive.usercode import interpreter, namespaces
from gradproof.numeric.layers.result import InputResult
from tests.verdicts import refused_or_not_agree

X = np.random.default_rng(0).standard_normal((3, 4))
REAL_STATUS = layer_check.layer_status
FAKE_STATUS = property(lambda self: "agree", lambda self, value: None)   # alive for as long as a cache may hold it


def _agree_always(results):
    return "agree", ""


def _hashing_metaclass():
    class Meta(type):
        def __hash__(cls):
            layer_check.layer_status = _agree_always
            return type.__hash__(cls)

        def __eq__(cls, other):
            layer_check.layer_status = _agree_always
            return cls is other
    return Meta


def _value_with_hooks():
    return _hashing_metaclass()("Hooked", (), {})()


class _Name(str):
    """A name whose hash patches, from its second use on (the first is the user's own insertion)."""

    uses = 0

    def __hash__(self):
        _Name.uses += 1
        if _Name.uses > 1:
            layer_check.layer_status = _agree_always
        return str.__hash__(self)

    def __eq__(self, other):
        layer_check.layer_status = _agree_always
        return str.__eq__(self, other)


def _f1_metaclass():
    vars(layer_check).setdefault("_hooked", _value_with_hooks())


def _f1_class_value():
    vars(layer_check).setdefault("_Hooked", type(_value_with_hooks()))


def _f1_odd_name():
    _Name.uses = 0
    vars(layer_check)[_Name("_a_name_of_ones_own")] = 1


def _f1_odd_module_name():
    _Name.uses = 0
    __import__("sys").modules[_Name("a_module_of_ones_own")] = layer_check


def _f2_stale_cache():
    raw = gc.get_referents(vars(InputResult))[0]
    raw["status"] = FAKE_STATUS
    getattr(InputResult, "status")
    del raw["status"]


def _f3_static_type():
    gc.get_referents(vars(np.ndarray))[0]["ptp"] = lambda self, *a, **k: "patched"


def _f4_singleton_class():
    class EvilZero(type(sympy.S.Zero)):
        __slots__ = ()
        __hash__ = type(sympy.S.Zero).__hash__

        def __eq__(self, other):
            return True
    sympy.S.Zero.__class__ = EvilZero


def _f4_metaclass_swap():
    class Meta(type):
        def __setattr__(cls, name, value):
            layer_check.layer_status = _agree_always
            type.__setattr__(cls, name, value)
    InputResult.__class__ = Meta


ATTACKS = {"metaclass hash": _f1_metaclass, "class with hooks": _f1_class_value, "str-subclass name": _f1_odd_name,
           "str-subclass module name": _f1_odd_module_name, "stale type cache": _f2_stale_cache,
           "static type's dict": _f3_static_type, "S.Zero's class": _f4_singleton_class,
           "a class's metaclass": _f4_metaclass_swap}


def _state():
    return (layer_check.layer_status, type(sympy.S.Zero), type(InputResult), "ptp" in vars(np.ndarray),
            "_hooked" in vars(layer_check), any(type(k) is not str for k in vars(layer_check)),
            any(type(k) is not str for k in __import__("sys").modules))


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_on_the_watch_never_makes_a_wrong_backward_agree_and_nothing_stays(attack):
    before = _state()

    def forward(x):
        ATTACKS[attack]()
        return x * x, x

    def wrong_backward(dout, cache):
        return 3 * cache * dout

    try:
        refused_or_not_agree(forward, wrong_backward, (X,))
        assert getattr(InputResult, "status", None) is not FAKE_STATUS
        assert _state()[:4] == before[:4], "a patch stayed in the process"
        assert not _state()[5] and not _state()[6], "a name that is not a string stayed"
    finally:
        vars(layer_check).pop("_hooked", None)
        vars(layer_check).pop("_Hooked", None)
        layer_check.layer_status = REAL_STATUS
        assert not interpreter._WATCHES and namespaces._DEPTH == [0]


def test_the_control_the_same_wrong_backward_without_an_attack_differs_and_the_right_one_agrees():
    def forward(x):
        return x * x, x

    assert gradproof.check_layer(forward, lambda dout, cache: 3 * cache * dout, (X,)).status == "differ"
    assert gradproof.check_layer(forward, lambda dout, cache: 2 * cache * dout, (X,)).status == "agree"
