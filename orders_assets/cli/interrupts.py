"""SIGINT and SIGTERM stop `orders-assets run` promptly, between whole pieces of work, and it exits non-zero.

Dagster replaces the handlers of both signals while it executes a run: inside a step a signal
raises `DagsterExecutionInterruptedError` (the step fails, the run is recorded as failed), but in
the windows where Dagster only "captures" interrupts (setting up and closing a run) it forgets
them when the window ends. The command then went on to the next stage, and sometimes finished
with exit 0 as if nothing had been asked.

`watch_signals` keeps every SIGINT / SIGTERM seen whoever's handler ran, through the
interpreter's wakeup fd (`signal.set_wakeup_fd`: the C-level handler writes each signal's number
there before any Python handler runs, and Dagster's handler changes leave it alone). The command
calls `checkpoint()` between runs and stages: once a signal arrived it raises `Interrupted`, so
nothing more is launched. Outside Dagster's windows the signal raises at once. What was written
stays whole: every output is written atomically and a half-done ingest leaves no manifest.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from orders_assets.core.errors import OrdersAssetsError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(OrdersAssetsError):
    """A stop signal arrived: the command stops and exits with 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


class SignalWatch:
    """What arrived on the wakeup fd since the watch began."""

    def __init__(self, read_fd: int):
        self.read_fd = read_fd
        self.received: int | None = None

    def checkpoint(self) -> None:
        """Raise `Interrupted` if a stop signal arrived, even one a Dagster handler swallowed."""
        try:
            numbers = os.read(self.read_fd, 512)
        except BlockingIOError:
            numbers = b""
        for number in numbers:
            if number in STOP_SIGNALS and self.received is None:
                self.received = number
        if self.received is not None:
            raise Interrupted(self.received)


@contextmanager
def watch_signals() -> Iterator[SignalWatch]:
    """Within: SIGINT and SIGTERM raise `Interrupted` (outside Dagster's runs) and are remembered
    (inside them, for `checkpoint`). The previous handlers and wakeup fd come back after."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    watch = SignalWatch(read_fd)

    def stop(signum: int, _frame) -> None:
        watch.received = watch.received or signum
        raise Interrupted(signum)

    previous_handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    try:
        yield watch
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_fd)
        os.close(write_fd)
