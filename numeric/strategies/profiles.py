"""Hypothesis settings profiles for gradient checks: ``ci`` (fast, deterministic), ``thorough``, ``dev``.

    from gradproof.numeric.strategies import profiles
    profiles.register()
    settings.load_profile("thorough")

No profile has a deadline: sympy's first calls are slow (caches, imports) and a deadline would turn that
into flaky failures. Select one for gradproof's own suite with ``HYPOTHESIS_PROFILE=thorough``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = {
    "ci": dict(max_examples=20, derandomize=True),
    "dev": dict(max_examples=10),
    "thorough": dict(max_examples=1000),
}


def register() -> None:
    """Register the profiles with hypothesis (idempotent)."""
    for name, options in PROFILES.items():
        settings.register_profile(name, deadline=None, print_blob=True,
                                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                                  **options)
