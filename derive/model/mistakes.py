"""The catalogue of plausible hand-derivation mistakes as data: each one's name, what it is, and which
weights it makes wrong on a network.

Their recurrences live beside the recurrence they get wrong: in sympy in
:mod:`gradproof.derive.symbolic.mistakes`, over numpy arrays in :mod:`gradproof.numeric.checks.mistakes`
(the same names). What is here needs neither, so a numeric check can say "this looks like …" without
loading sympy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from gradproof.derive.model.network import Network, WeightIndex


def _layers(network: Network, layers) -> set[WeightIndex]:
    layers = set(layers)
    return {w for w in network.weights() if w.layer in layers}


def _below_highest(network: Network, layers) -> set[WeightIndex]:
    """Every weight at or below the highest of ``layers`` (its Ψ went wrong and carried down)."""
    return _layers(network, range(max(layers) + 1)) if layers else set()


def _nonlinear(network: Network, exclude=("identity",)) -> list[int]:
    return [l for l in range(network.depth - 1) if network.activations[l].name not in exclude]


def _square_steps(network: Network) -> list[int]:
    """Layers l ≥ 1 whose W̄[l][:, 1:] is square (and larger than 1×1)."""
    return [l for l in range(1, network.depth) if network.sizes[l + 1] == network.sizes[l] > 1]


def _all(network: Network) -> set[WeightIndex]:
    return set(network.weights())


def _when(condition: Callable[[Network], bool], then: Callable[[Network], set]) -> Callable[[Network], set]:
    return lambda network: then(network) if condition(network) else set()


def _shortcut_holds(network: Network) -> bool:
    """a − y is Ψ at the output: the loss collapses there, or a linear output with ½·Σ(a − y)²
    (or the mean over two outputs, whose 2/n is 1)."""
    linear = network.activations[-1].name == "identity"
    return _collapses(network) or linear and (network.loss.name == "half-sse"
                                              or network.loss.name == "mse" and network.sizes[-1] == 2)


def _collapses(network: Network) -> bool:
    return network.loss.collapses_with(network.activations[-1])


@dataclass(frozen=True)
class Entry:
    """One catalogued mistake: its name, what it is, and the weights it makes wrong (empty: no harm)."""

    name: str
    description: str
    harm: Callable[[Network], set[WeightIndex]]

    def affected(self, network: Network) -> frozenset[WeightIndex]:
        """The weights whose gradient the mistake makes wrong on ``network``. A softmax over one output is
        the constant 1, so there E and every gradient are 0 and no mistake can do harm."""
        return _affected(self, network)

    def applies(self, network: Network) -> bool:
        """Whether the mistake does harm on ``network`` (and can be written down for it)."""
        return bool(self.affected(network))


@lru_cache(maxsize=1024)
def _affected(entry: Entry, network: Network) -> frozenset[WeightIndex]:
    """:meth:`Entry.affected`, kept per network (a diagnosis asks every entry after every failed check)."""
    if network.activations[-1].name == "softmax" and network.sizes[-1] == 1:
        return frozenset()
    return frozenset(entry.harm(network))


CATALOGUE: dict[str, Entry] = {e.name: e for e in (
    Entry("bias-column-kept", "the bias column of W̄ was not dropped when Ψ went down a layer",
          lambda net: _layers(net, range(net.depth - 1)) if net.bias else set()),
    Entry("missing-a-prime", "a'(z) is missing when Ψ goes down a layer",
          lambda net: _below_highest(net, _nonlinear(net))),
    Entry("a-prime-at-activation", "a' was evaluated at a(z) instead of z",
          lambda net: _below_highest(net, _nonlinear(net, exclude=("identity", "relu")))),
    Entry("not-transposed", "W̄ was not transposed when Ψ went down a layer",
          lambda net: _layers(net, range(max(_square_steps(net)))) if _square_steps(net) else set()),
    Entry("outer-product-reversed", "the outer product was taken in the wrong order (X̄ ⊗ Ψ instead of Ψ ⊗ X̄)",
          # its diagonal happens to be right
          lambda net: {w for w in _layers(net, [l for l in range(net.depth) if net.shape(l)[0] == net.shape(l)[1]])
                       if net.position(w)[1] != net.position(w)[2]}),
    Entry("wrong-layer-input", "∂E/∂W̄[l] used the layer's output [1; a(z[l])] instead of its input X̄[l]",
          # the bias input is 1 in both
          lambda net: {w for w in _layers(net, [l for l in range(net.depth) if net.sizes[l] == net.sizes[l + 1]])
                       if w.source != 0 or not net.bias}),
    Entry("half-sse-rule-with-mse",
          "Ψ at the output used ∂E/∂a = a − y (half-sse's) with the true mean (1/n)·Σ(a − y)²",
          _when(lambda net: net.loss.name == "mse" and net.sizes[-1] != 2, _all)),
    Entry("factor-2-dropped", "the factor 2 of d/da (a − y)² was dropped",
          _when(lambda net: net.loss.name == "mse", _all)),
    Entry("softmax-jacobian-ignored",
          "the softmax was differentiated elementwise (a ⊙ (1 − a)), ignoring its Jacobian",
          _when(lambda net: net.activations[-1].name == "softmax" and net.sizes[-1] > 1, _all)),
    Entry("cross-entropy-shortcut", "Ψ at the output is a − y, the cross-entropy shortcut, used where it does not hold",
          _when(lambda net: not _shortcut_holds(net), _all)),
    Entry("loop-ends-early", "the layer loop stopped one layer early: ∂E/∂W̄[0] was never computed (left at 0)",
          lambda net: _layers(net, [0])),
    Entry("sign-error", "a sign error: Ψ at the output is y − a instead of a − y", _all),
    Entry("bias-gradients-left-out", "the bias gradients were left out (the bias column of ∂E/∂W̄ is 0)",
          lambda net: {w for w in net.weights() if w.source == 0} if net.bias else set()),
)}
