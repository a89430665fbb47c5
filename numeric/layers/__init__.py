"""The numeric check of any layer a user writes: its backward against the definition of the derivative.

:mod:`.check` runs it (``check_layer``, ``check_loss``); :mod:`.evaluation` evaluates ⟨dout, forward⟩
through the user's code under the guard; :mod:`.noise` measures the rounding of the user's code;
:mod:`.entries` gives the finite differences per entry and along directions with their bounds;
:mod:`.result` and :mod:`.report` hold and print the verdict; :mod:`.mistakes` recognises the usual
hand-derivation mistakes; :mod:`.arguments` builds arguments from a spec (``randn:2,3,7,7``) and
:mod:`.examples` holds the built-in example arguments of the common layer names.
"""
