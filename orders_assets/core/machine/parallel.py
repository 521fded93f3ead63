"""Bounded, ordered parallelism for the engine's per-block and per-partition work.

Arrow's kernels, readers and writers release the GIL, so threads give real parallelism on
them; a bound on the work in flight keeps memory flat whatever the input size.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def in_order(tasks: Iterator[Callable[[], T]], workers: int, read_ahead: int = 1) -> Iterator[T]:
    """Run tasks on `workers` threads, yielding results in order.

    At most workers + read_ahead tasks are started and not yet consumed, which bounds memory.
    """
    if workers <= 1 and read_ahead <= 0:
        yield from (task() for task in tasks)
        return
    in_flight = max(1, workers) + max(0, read_ahead)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(pool.submit(task))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
