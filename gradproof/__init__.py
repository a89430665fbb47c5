"""gradproof: prove a hand-derived backpropagation recurrence correct, symbolically and numerically, and
show the derivation in the notation it was written in.

    import gradproof

    network = gradproof.Network.from_spec("2,3,3,2")          # the source text's network
    proof = gradproof.prove(network)                            # every ∂E/∂w by sympy.diff, proven
    result = gradproof.check_gradient(gradproof.random_sample(network, seed=0))

The two halves live in :mod:`gradproof.derive` (the model, the symbolic forms, the proofs, the rendering)
and :mod:`gradproof.numeric` (compiled forms, finite differences and their error model, checks,
hypothesis strategies); :mod:`gradproof.cli` is the command line above both. The names below load on
first use, so ``import gradproof`` is instant and the command line never pays for what it does not run.
"""

from __future__ import annotations

import importlib
import sys

__version__ = "0.2.0"

#: every public name, and the module it lives in
_PUBLIC = {
    # the model
    "Network": "gradproof.derive.model.network",
    "WeightIndex": "gradproof.derive.model.network",
    "Dense": "gradproof.derive.model.layers",
    "Conv": "gradproof.derive.model.conv",
    "Activation": "gradproof.derive.model.activations",
    "Loss": "gradproof.derive.model.losses",
    "get_activation": "gradproof.derive.model.activations",
    "get_loss": "gradproof.derive.model.losses",
    "ACTIVATIONS": "gradproof.derive.model.activations",
    "define_activation": "gradproof.derive.symbolic.custom",
    "define_loss": "gradproof.derive.symbolic.custom",
    "LOSSES": "gradproof.derive.model.losses",
    # the symbolic half
    "SymbolicNetwork": "gradproof.derive.symbolic.network",
    "PsiRecurrence": "gradproof.derive.symbolic.recurrence",
    "prove": "gradproof.derive.proof.prove",
    "Proof": "gradproof.derive.proof.result",
    "prove_layer": "gradproof.derive.proof.layer",
    "LayerProof": "gradproof.derive.proof.layer_result",
    "Derivation": "gradproof.derive.render.derivation",
    "document": "gradproof.derive.render.document",
    # the numeric half
    "Sample": "gradproof.numeric.samples",
    "make_sample": "gradproof.numeric.samples",
    "random_sample": "gradproof.numeric.samples",
    "check_gradient": "gradproof.numeric.checks.check",
    "CheckResult": "gradproof.numeric.checks.check",
    "check_backward": "gradproof.numeric.checks.backward",
    "assert_backward_correct": "gradproof.numeric.checks.backward",
    "assert_backward_correct_on_networks": "gradproof.numeric.checks.backward",
    "check_layer": "gradproof.numeric.layers.check",
    "check_loss": "gradproof.numeric.layers.check",
    "LayerCheck": "gradproof.numeric.layers.result",
    # errors and warnings
    "GradproofError": "gradproof.derive.errors",
    "InputError": "gradproof.derive.errors",
    "GradientMismatch": "gradproof.numeric.errors",
    "FiniteDifferenceUnreliable": "gradproof.numeric.errors",
    "BackwardPassError": "gradproof.numeric.errors",
    "PrecisionWarning": "gradproof.numeric.samples",
}
#: modules reachable as attributes (``gradproof.strategies`` is also importable as a module)
_MODULES = {"strategies": "gradproof.strategies"}

__all__ = sorted(_PUBLIC) + sorted(_MODULES)


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _PUBLIC:
        if "IPython" in sys.modules:  # in a notebook: the rich displays register themselves on import
            importlib.import_module("gradproof.derive.render.notebook")
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    else:
        raise AttributeError(f"module 'gradproof' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
