"""A recurrence written with sympy, as the README's "Check your own backward pass" describes it: a
function of the symbolic network returning ∂E/∂W̄[l] for every layer. This one forgets a'(z) when Ψ goes
down a layer — a classic slip — so the proof refutes it:

    gradproof prove --layers 2,3,2 --recurrence examples/my_rec.py:recurrence      # exits 1
"""

import sympy as sp


def recurrence(sym):
    net = sym.network
    a = list(sym.output)
    psi = sp.Matrix([(ak - yk) * ak * (1 - ak) for ak, yk in zip(a, sym.y)])   # half-sse, sigmoid output
    grads = [None] * net.depth
    for layer in range(net.depth - 1, -1, -1):
        grads[layer] = psi * sym.xbar[layer].T
        if layer:
            psi = sym.wbar[layer][:, 1:].T * psi          # missing: ⊙ a'(z[layer − 1])
    return grads
