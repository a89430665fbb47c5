"""The time limits on calls of the user's code: the default, the longest, and what a limit may be.

Kept apart from :mod:`gradproof.derive.usercode.guard` (which watches the process around each call, and
loads numpy for it) so that the command line's parser checks ``--timeout`` with the standard library only.
"""

from __future__ import annotations

import math
import numbers

from gradproof.derive.errors import InputError

#: seconds a single call may take before it is stopped (the command line's --timeout sets it)
DEFAULT_TIMEOUT = 60.0
#: the longest time limit, in seconds (11.6 days): the timers take less than their types suggest (SIGALRM's
#: setitimer refuses 1e10 s, a pipe's poll counts milliseconds in a C int: at most 2147483 s)
MAX_TIMEOUT = 1e6


def checked_timeout(timeout, name: str = "timeout") -> float | None:
    """``timeout`` as a limit the timers accept: None or 0 for none, else a number of seconds in
    (0, MAX_TIMEOUT]; anything else is an InputError (``name`` names the option: "--timeout")."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not math.isfinite(timeout) \
            or not 0 <= timeout <= MAX_TIMEOUT:
        shown = f"{timeout:g}" if isinstance(timeout, numbers.Real) else repr(timeout)
        raise InputError(f"{name} must be a number of seconds ≥ 0 and at most {MAX_TIMEOUT:.0f} (0: no limit), "
                         f"not {shown}")
    return float(timeout) or None
