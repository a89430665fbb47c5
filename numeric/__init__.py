"""gradproof's numeric half: compiled gradients checked against the finite-difference definition."""
