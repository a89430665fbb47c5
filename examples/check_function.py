"""A plain function of parameters returning a number, with its gradient function."""
import numpy as np

import gradproof


def energy(p):
    return float(np.sum(np.sin(p) * p))


def energy_gradient(p):
    return np.cos(p) * p + np.sin(p)


result = gradproof.check_layer(energy, energy_gradient, (np.random.default_rng(4).standard_normal(6),))
print(result.report())
assert result.ok
