"""How much memory a numeric command needs, estimated before anything is allocated.

A check holds, per weight, about ``BYTES_PER_WEIGHT`` bytes at its peak: the weights and the private copy
the references are computed from, the gradient under test and the copy handed to it, the finite
differences with their steps, truncation bounds, radii and error scales, the stencil's evaluations of one
layer, the tolerances, shares and the analytic rounding bound, and the random direction with its absolute
values (measured: 1,685,667 weights, complex step, 115 MB; central, about 300 MB). Per sample it holds
every layer's z and X̄ with their rounding bounds (``BYTES_PER_UNIT`` per unit and sample). The estimate is
meant to refuse what cannot fit at once (a [100000, 100000] network, a batch of 10⁹) with one clear line,
not to predict the peak to the byte.
"""

from __future__ import annotations

import os

from gradproof.derive.errors import InputError
from gradproof.derive.model.network import Network

BYTES_PER_WEIGHT = 8 * 32
BYTES_PER_UNIT = 8 * 24
BASE_BYTES = 200 * 2 ** 20  # the interpreter, numpy, the compiled forms


def needed_bytes(network: Network, batch: int | None) -> int:
    samples = 1 if batch is None else batch
    return network.n_weights * BYTES_PER_WEIGHT + samples * sum(network.sizes) * BYTES_PER_UNIT + BASE_BYTES


def available_bytes() -> int | None:
    """Memory available to this process without swapping (Linux: MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def require_memory(network: Network, batch: int | None, what: str = "a check") -> None:
    """An InputError when ``what`` on this network and batch cannot fit in the available memory."""
    needed, available = needed_bytes(network, batch), available_bytes()
    if available is not None and needed > available:
        raise InputError(f"{what} of this network ({network.n_weights:,} weights"
                         f"{'' if batch is None else f', batch {batch:,}'}) needs about {_size(needed)} of memory, "
                         f"more than the {_size(available)} available: use fewer weights or a smaller batch")


def _size(count: int) -> str:
    for unit, scale in (("TB", 2 ** 40), ("GB", 2 ** 30), ("MB", 2 ** 20)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count / 1024:.3g} KB"
