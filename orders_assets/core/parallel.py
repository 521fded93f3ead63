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


def in_order(tasks: Iterator[Callable[[], T]], workers: int) -> Iterator[T]:
    """Run tasks on `workers` threads, at most `workers` ahead of the consumer, yielding in order."""
    if workers <= 1:
        yield from (task() for task in tasks)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future] = deque()
        for task in tasks:
            pending.append(pool.submit(task))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
