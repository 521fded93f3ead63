"""A throwaway Dask cluster for tests: a scheduler and N workers, each its own process started with
Dask's own command line (`dask scheduler`, `dask worker`) on 127.0.0.1, stopped on exit whatever happened.

Workers run without a nanny (the process started here is the worker) with one thread each, and
ORDERS_ASSETS_WORKERS sets how many cores a step may use inside a worker, as on a real cluster.
"""
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orders_assets_tests.support.loopback import free_port, stop

START_SECONDS = 60


@dataclass(frozen=True)
class DaskCluster:
    address: str
    worker_pids: dict[str, int]
    """Worker address -> process id, as each worker reported it."""
    logs: tuple[Path, ...]

    def log_tail(self, characters: int = 3000) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-characters:]}" for log in self.logs)


@contextlib.contextmanager
def running_dask_cluster(folder: Path, workers: int = 2, cores_per_worker: int = 1,
                         environment: dict[str, str] | None = None) -> Iterator[DaskCluster]:
    """Start the scheduler on a free port, then the workers, and wait until every worker is connected."""
    folder.mkdir(parents=True, exist_ok=True)
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    environment = {**(environment or os.environ), "ORDERS_ASSETS_WORKERS": str(cores_per_worker)}
    processes: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(name: str, command: list[str]) -> None:
        logs.append(folder / f"{name}.log")
        with logs[-1].open("wb") as log:
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                                              env=environment))

    try:
        start("scheduler", [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                            "--no-dashboard", "--no-show"])
        for index in range(workers):
            start(f"worker-{index}", [dask, "worker", address, "--host", "127.0.0.1", "--no-nanny", "--nthreads", "1",
                                      "--name", f"worker-{index}", "--no-dashboard",
                                      "--local-directory", str(folder / f"worker-{index}")])
        yield DaskCluster(address, _connected_workers(address, workers), tuple(logs))
    finally:
        for process in reversed(processes):  # workers first, the scheduler last
            stop(process)


def _connected_workers(address: str, workers: int) -> dict[str, int]:
    from dask.distributed import Client

    with Client(address, timeout=START_SECONDS) as client:
        client.wait_for_workers(workers, timeout=START_SECONDS)
        return client.run(os.getpid)
