"""Whether a run's steps go to a Dask scheduler, and whether they can: the address given (--dask or
the environment) and the packages that send steps there. Dagster-free, so that `orders-assets run`
refuses a missing package before any work, and plans a run with nothing new, without importing
Dagster (the executor itself is platform/executors.py)."""
from __future__ import annotations

import os

from orders_assets.core.errors import InputError, one_line

DASK_SCHEDULER_ENV = "ORDERS_ASSETS_DASK_SCHEDULER"
"""Address of a Dask scheduler (tcp://host:8786): the code location's runs execute their steps there."""


def dask_scheduler_from(environment=os.environ) -> str | None:
    return environment.get(DASK_SCHEDULER_ENV) or None


class DaskNotInstalledError(InputError):
    """A Dask scheduler was given but the `dask` extra (dagster-dask, distributed) is not installed."""


def require_dask(given: str) -> None:
    """Refuse, with the fix, a Dask scheduler (`given`: as the user gave it, `--dask ADDRESS` or the
    environment variable) when the packages that send steps to it cannot be imported."""
    try:
        import dagster_dask  # noqa: F401
        import dask.distributed  # noqa: F401
    except ImportError as error:
        raise DaskNotInstalledError(
            f"{given}: the steps cannot be sent to Dask, its packages are not installed here "
            f"({one_line(error)}): pip install 'orders_assets[dask]' (dagster-dask and distributed), or run "
            "without a scheduler to work on this machine") from None
