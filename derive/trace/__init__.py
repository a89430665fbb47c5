"""Tracing the user's own numpy code into sympy: traced elements and arrays, branch regions, and what
cannot be traced (see :mod:`.element`, :mod:`.array`, :mod:`.run`)."""
