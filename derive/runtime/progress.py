"""A progress bar on stderr for long runs: shown only where stderr is a terminal (or when asked for), only
once the job has run ``delay`` seconds (jobs that finish sooner show nothing), at most ten times a second,
and erased when done."""

from __future__ import annotations

import sys
import time

#: jobs shorter than this show no bar
PROGRESS_DELAY = 2.0


class Progress:
    """``with Progress(total, "label") as bar: … bar.advance()``."""

    def __init__(self, total: int, label: str, enabled: bool | None = None, stream=None,
                 delay: float | None = None):
        self.total, self.label, self.done = max(1, int(total)), label, 0
        self.delay = PROGRESS_DELAY if delay is None else delay
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown, self._drawn = 0.0, False
        self._start = time.perf_counter()

    def __enter__(self) -> Progress:
        return self

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        now = time.perf_counter()
        if self.enabled and now - self._start >= self.delay and (now - self._shown > 0.1 or self.done >= self.total):
            self._shown, self._drawn = now, True
            filled = int(30 * self.done / self.total)
            elapsed = now - self._start
            self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (30 - filled)}] "
                              f"{100 * self.done / self.total:5.1f}% {elapsed:6.1f} s")
            self.stream.flush()

    def __exit__(self, *exc) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * (len(self.label) + 52) + "\r")
            self.stream.flush()
