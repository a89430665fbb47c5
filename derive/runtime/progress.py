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
            self.stream.write("\r" + self.line(now - self._start))
            self.stream.flush()

    def line(self, elapsed: float) -> str:
        """The bar: label, fraction done, time so far and, from the rate so far, the time left."""
        fraction = min(1.0, self.done / self.total)
        filled = int(30 * fraction)
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
        eta = f", ~{_duration(left)} left" if fraction < 1 and left == left else ""
        return (f"{self.label} [{'#' * filled}{' ' * (30 - filled)}] {100 * fraction:5.1f}% "
                f"{_duration(elapsed)}{eta}   ")

    def __exit__(self, *exc) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * (len(self.label) + 72) + "\r")
            self.stream.flush()


def _duration(seconds: float) -> str:
    """"12.3 s", "4 min 05 s", "1 h 02 min"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
