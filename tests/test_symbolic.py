"""The symbolic network: one symbol per weight, X̄ with its bias, z = W̄·X̄, the output and E."""

import pickle

import sympy as sp

from gradproof.derive.symbolic.functions import a, sigmoid
from gradproof.derive.model.network import Network
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.symbols import Input, Target, Weight


def test_one_symbol_per_weight_named_by_layer_source_and_target():
    sym = SymbolicNetwork(Network.source_text())
    symbols = sym.weight_symbols
    assert len(symbols) == 29 == len(set(symbols))
    assert [m.shape for m in sym.wbar] == [(3, 3), (3, 4), (2, 4)]
    w = sym.wbar[1][2, 0]
    assert (w.layer, w.source, w.target) == (1, 0, 3)
    assert str(w) == "w1_0_3"


def test_xbar_starts_with_the_bias_input_and_z_is_wbar_times_xbar():
    sym = SymbolicNetwork(Network.source_text())
    assert list(sym.xbar[0]) == [1, Input(1), Input(2)]
    assert sym.xbar[1][0] == 1
    assert sym.xbar[1][1] == sigmoid(sym.z[0][0])
    assert sym.z[0][0] == Weight(0, 0, 1) + Weight(0, 1, 1) * Input(1) + Weight(0, 2, 1) * Input(2)
    assert len(sym.xbar) == 3 and len(sym.z) == 3


def test_error_is_half_the_sum_of_squares():
    sym = SymbolicNetwork(Network.source_text())
    expected = sp.Rational(1, 2) * sum((o - t) ** 2 for o, t in zip(sym.output, sym.y))
    assert sp.expand(sym.error - expected) == 0
    assert sym.y == (Target(1), Target(2))


def test_without_bias_there_is_no_constant_input():
    sym = SymbolicNetwork(Network.from_spec("2,2,1", "generic", bias=False))
    assert list(sym.xbar[0]) == [Input(1), Input(2)]
    assert list(sym.xbar[1]) == [a(z) for z in sym.z[0]]


def test_symbols_pickle_with_their_indices():
    w = pickle.loads(pickle.dumps(Weight(2, 0, 1)))
    assert w == Weight(2, 0, 1) and (w.layer, w.source, w.target) == (2, 0, 1)
    assert pickle.loads(pickle.dumps(Input(3))).position == 3


def test_activated_gives_the_next_layers_values():
    sym = SymbolicNetwork(Network.source_text())
    assert sym.activated(0) == [sigmoid(z) for z in sym.z[0]]
    assert sym.activated(2) == list(sym.output)
