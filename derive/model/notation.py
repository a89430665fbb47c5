"""The source text's notation as plain strings: indices as superscripts and subscripts (ˡwʲᵢ, ˡzᵢ, ˡΨᵢ),
and gradproof's unicode prose made into LaTeX text. No sympy here: the numeric reports use it too."""

from __future__ import annotations

SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def sup(value) -> str:
    return str(value).translate(SUPERSCRIPTS)


def sub(value) -> str:
    return str(value).translate(SUBSCRIPTS)


def weight_text(layer: int, source: int, target: int) -> str:
    """ˡwʲᵢ in unicode."""
    return f"{sup(layer)}w{sup(source)}{sub(target)}"


def z_text(layer: int, unit: int) -> str:
    """ˡzᵢ: weighted sum i of weight layer l (unit i of layer l+1, before the activation)."""
    return f"{sup(layer)}z{sub(unit)}"


def psi_text(layer: int, unit: int) -> str:
    """ˡΨᵢ = ∂E/∂ˡzᵢ."""
    return f"{sup(layer)}Ψ{sub(unit)}"


TEXT = {"σ": r"$\sigma$", "Ψ": r"$\Psi$", "Σ": r"$\Sigma$", "ℚ": r"$\mathbb{Q}$", "⊙": r"$\odot$",
        "·": r"$\cdot$", "−": "$-$", "∂": r"$\partial$", "…": r"\ldots{}", "ᵀ": r"$^T$", "′": "'", "²": r"$^2$",
        "ₖ": r"$_k$", "ⱼ": r"$_j$", "ᵢ": r"$_i$", "ˡ": r"$^l$", "ʲ": r"$^j$", "ξ": r"$\xi$", "≠": r"$\neq$",
        "≤": r"$\leq$", "≥": r"$\geq$", "⊗": r"$\otimes$", "→": r"$\to$", "×": r"$\times$", "W̄": r"$\bar W$",
        "X̄": r"$\bar X$", "\u0304": "", "½": r"$\tfrac12$", "ᵃ": r"$^a$"}


def tex_text(text: str) -> str:
    """Prose with gradproof's unicode (σ, ·, ∂, ℚ, …) made into LaTeX; other characters escaped."""
    for special, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"),
                                 ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("^", r"\^{}")):
        text = text.replace(special, replacement)
    for two in ("W̄", "X̄"):
        text = text.replace(two, TEXT[two])
    out = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
        elif char in TEXT:
            out.append(TEXT[char])
        elif "⁰" <= char <= "⁹" or char in "¹²³":
            out.append(f"$^{'⁰¹²³⁴⁵⁶⁷⁸⁹'.index(char)}$")
        elif "₀" <= char <= "₉":
            out.append(f"$_{ord(char) - ord('₀')}$")
        else:
            raise ValueError(f"no LaTeX for {char!r} (U+{ord(char):04X}) in {text!r}")
    return "".join(out)
