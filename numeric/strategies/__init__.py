"""Hypothesis strategies for networks and settings profiles, for gradproof's tests and yours.

    from hypothesis import given
    from gradproof.strategies import architectures, networks   # or gradproof.numeric.strategies
"""

from gradproof.numeric.strategies.networks import architectures, networks
from gradproof.numeric.strategies.profiles import PROFILES, register

__all__ = ["PROFILES", "architectures", "networks", "register"]
