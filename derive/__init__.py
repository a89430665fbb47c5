"""gradproof's symbolic half, and the model both halves speak (installed as ``gradproof.derive``).

- ``model/``: the network as a sequence of layers, activations and losses as data with their numpy
  forms, the notation as strings (no sympy: the numeric half imports it);
- ``symbolic/``: the forward phase in sympy, the opaque functions and the forms of activations and
  losses, the Ψ recurrence and the direct form, the catalogue of mistakes;
- ``proof/``: the decision procedure, counterexamples, lemmas and the proof methods;
- ``render/``: the derivation in unicode, LaTeX documents, notebook displays;
- ``runtime/``: loading the user's code, progress bars, BLAS threads.
"""
