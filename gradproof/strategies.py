"""Hypothesis strategies for networks, and settings profiles, for your own tests.

    from hypothesis import given
    from gradproof.strategies import architectures, networks

The same objects as :mod:`gradproof.numeric.strategies`, under the short name.
"""

from gradproof.numeric.strategies import PROFILES, architectures, networks, register

__all__ = ["PROFILES", "architectures", "networks", "register"]
