"""Rich display in notebooks, without the model importing the rendering layer.

The model's objects (a network, a proof, a derivation) answer Jupyter's ``_repr_latex_`` and
``_repr_html_`` by asking here; :mod:`gradproof.derive.render.notebook`, which imports the model, registers
how each type is shown when it is imported (``import gradproof`` does that). Unregistered: None, and
Jupyter shows the plain repr.
"""

from __future__ import annotations

from collections.abc import Callable

_RENDERERS: dict[tuple[type, str], Callable[[object], str]] = {}


def register(cls: type, kind: str, function: Callable[[object], str]) -> None:
    """Show instances of ``cls`` as ``kind`` ("latex" or "html") with ``function``."""
    _RENDERERS[(cls, kind)] = function


def render(obj: object, kind: str) -> str | None:
    """``obj`` shown as ``kind`` by the renderer registered for its type (or a base type), or None."""
    for cls in type(obj).__mro__:
        function = _RENDERERS.get((cls, kind))
        if function is not None:
            return function(obj)
    return None


def latex(obj: object) -> str | None:
    return render(obj, "latex")


def html(obj: object) -> str | None:
    return render(obj, "html")
