"""A task in a forked child, with a time budget: ``check-layers --prove`` and the benchmarks use it so
that a proof past its budget is stopped, not waited for."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def bounded(task: Callable[[], T], budget: float, failed: Callable[[BaseException | None], T]) -> T | None:
    """``task()`` in a forked child (in this process where the platform cannot fork): its answer, None when
    it has not answered within ``budget`` seconds, ``failed(error)`` where it raised ``error`` (sent from
    the child) or its process ended without an answer (``failed(None)``)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return task()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(task, failed, send), daemon=True)
    child.start()
    send.close()
    try:
        return receive.recv() if receive.poll(budget) else None
    except EOFError:
        return failed(None)
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def _answer(task, failed, send) -> None:
    try:
        send.send(task())
    except BaseException as error:  # noqa: BLE001 - whatever happens in the child becomes an answer
        send.send(failed(error))
