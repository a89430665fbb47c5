"""Printing in the source text's notation."""

import sympy as sp

from gradproof.derive.symbolic.functions import a, a_prime, sigmoid
from gradproof.derive.render.derivation import Derivation
from gradproof.derive.model.network import Network
from gradproof.derive.model.notation import weight_text
from gradproof.derive.render.printing import text, wrap, z_abbreviations
from gradproof.derive.symbolic.network import SymbolicNetwork
from gradproof.derive.symbolic.symbols import Input, PsiEntry, Target, Weight


def test_a_weight_shows_layer_top_left_source_top_right_target_bottom_right():
    assert text(Weight(0, 1, 2)) == "⁰w¹₂"
    assert text(Weight(12, 0, 10)) == "¹²w⁰₁₀"
    assert weight_text(2, 3, 1) == "²w³₁"


def test_inputs_targets_psi_and_functions():
    z = sp.Symbol("z")
    assert text(Input(1) * Weight(0, 1, 1)) == "⁰w¹₁·x₁"
    assert text(sigmoid(z) - Target(2)) == "σ(z) − y₂"
    assert text(a_prime(z) * a(z)) in ("a'(z)·a(z)", "a(z)·a'(z)")
    assert text(PsiEntry(1, 3)) == "¹Ψ₃"
    assert text(sp.Rational(1, 2) * z ** 2) == "½·z²"
    assert text(sp.Heaviside(z, 0)) == "H(z)"


def test_weighted_sums_print_by_name_inside_larger_expressions():
    sym = SymbolicNetwork(Network.source_text())
    names = z_abbreviations(sym)
    assert text(sym.output[0], names) == "σ(²z₁)"
    assert text(sym.error, names) == "½·(σ(²z₁) − y₁)² + ½·(σ(²z₂) − y₂)²"


def test_wrap_breaks_before_signs_and_keeps_every_character():
    line = "E = " + " + ".join(f"term{i}·(x − y{i})" for i in range(20))
    wrapped = wrap(line, width=60, indent=4)
    assert all(len(part) <= 60 for part in wrapped.splitlines())
    assert "".join(part.strip() for part in wrapped.splitlines()).replace(" ", "") == line.replace(" ", "")
    assert "\\" not in wrapped


def test_derivation_text_shows_the_source_texts_steps():
    derivation = Derivation.of(Network.source_text(), [(2, 1, 1)])
    out = derivation.to_text(width=100)
    assert "X̄[0] = [1, x₁, x₂]" in out
    assert "⁰z₁ = ⁰w⁰₁ + ⁰w¹₁·x₁ + ⁰w²₁·x₂" in out
    assert "X̄[1] = [1, σ(⁰z₁), σ(⁰z₂), σ(⁰z₃)]" in out
    assert "Ψ[l−1] = (W̄[l][:, 1:]ᵀ · Ψ[l]) ⊙ a'(z[l−1])" in out
    assert "¹Ψ₁ = (1 − σ(¹z₁))·(²w¹₁·²Ψ₁ + ²w¹₂·²Ψ₂)·σ(¹z₁)" in out
    assert "∂E/∂²w¹₁ = (1 − σ(²z₁))·(σ(²z₁) − y₁)·σ(¹z₁)·σ(²z₁)" in out
    assert "Ψ form: ²Ψ₁·σ(¹z₁)" in out
