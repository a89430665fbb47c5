"""gradproof's numeric half (installed as ``gradproof.numeric``): it depends on :mod:`gradproof.derive`,
never the reverse.

- ``compiled/``: the forward phase and the Ψ recurrence in matrix form, per-weight forms by lambdify, kernels;
- ``differences/``: the finite differences (forward, central, Richardson, complex step) and their error model;
- ``checks/``: checks of a gradient against the definition, reports, diagnoses, the user's backward pass;
- ``strategies/``: hypothesis strategies and settings profiles for your own tests;
- ``samples.py``: concrete networks (weights, inputs, targets), validated; ``plots.py``: the figures.
"""
