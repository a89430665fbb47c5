"""gradproof's symbolic half: build a network in sympy, derive every ∂E/∂w, prove the Ψ recurrence."""
