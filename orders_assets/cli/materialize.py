"""`orders-assets materialize`: `dagster asset materialize` over the folders of `orders-assets run`.

`dagster asset materialize -m orders_assets.glue.definitions` needs the code location's folders and
the instance as environment variables, and answers a partition key that is not one with a
Dagster stack trace. This command takes the folders as `run` does, the instance in
`<data>/dagster_home` (or DAGSTER_HOME), the data folder's remembered settings (or --config), and
checks the selection and the partition key first: a key that is not one is said in one line,
with how keys look and some that exist. Then it runs Dagster's own materialize command.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from orders_assets.glue.names import SECURITIES, SOURCE_FILES, TRADE_DATES

PARTITIONED = {"filtered_orders": "a trade date and a security, DATE|SECURITY (e.g. 2025-03-03|BHP)",
               "order_files": "a source file's path in the landing folder (e.g. orders.csv)"}
"""The partitioned assets a selection may name, and how their keys look."""
SHOWN_KEYS = 5


def materialize(landing: Path, data: Path, config: Path | None, select: str, partition: str | None) -> int:
    """Check the selection and key, then materialize through Dagster; the exit status."""
    import dagster as dg
    from dagster._cli.asset import execute_materialize_command
    from dagster_shared.cli import PythonPointerOpts

    from orders_assets.cli.ui import ui_environment

    if not landing.is_dir():
        print(f"error: landing folder {landing} does not exist: give the folder `orders-assets run` read",
              file=sys.stderr)
        return 2
    with _environment(ui_environment(landing, data, config, dict(os.environ))), dg.DagsterInstance.get() as instance:
        problem = selection_problem(select, partition, instance)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        try:
            execute_materialize_command(instance=instance, select=select, partition=partition, partition_range=None,
                                        config=(), config_json=None,
                                        python_pointer_opts=PythonPointerOpts(module_name="orders_assets.glue.definitions"))
        except Exception as error:  # Dagster's "Materialization failed." after its log said why
            if type(error).__name__ != "ClickException":
                raise
            print(f"error: {error.message}", file=sys.stderr)
            return 1
    return 0


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """The process's environment as `values` (what the code location and the instance read) while the
    command runs, then as it was; the instance folder made ready."""
    from orders_assets.platform.instance import ensure_instance_folder

    before = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        ensure_instance_folder(Path(os.environ["DAGSTER_HOME"]))
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def selection_problem(select: str, partition: str | None, instance) -> str | None:
    """Why `--select select --partition partition` cannot work on this instance, in one line, or None."""
    named = [part.strip() for part in select.split(",") if part.strip()]
    partitioned = [name for name in named if name in PARTITIONED]
    if len(partitioned) > 1 or (partitioned and len(named) > 1):
        return (f"--select {select}: a partitioned asset ({', '.join(partitioned)}) is materialized on its own, "
                "one key at a time; select it alone")
    if not partitioned:
        return (f"--partition {partition}: {select} is not partitioned (the partitioned assets are "
                f"{', '.join(PARTITIONED)}); leave --partition out") if partition else None
    asset = partitioned[0]
    if partition is None:
        return f"--select {asset} needs --partition: a key is {PARTITIONED[asset]}"
    found, examples = _key_found(asset, partition, instance)
    if found:
        return None
    return (f"--partition {partition!r} is not a key of {asset}: a key is {PARTITIONED[asset]}; "
            f"this instance has, e.g., {', '.join(examples) or 'none yet: run `orders-assets run` first'}")


def _key_found(asset: str, partition: str, instance) -> tuple[bool, list[str]]:
    """Whether the instance knows `partition` as a key of `asset`, and a few keys it knows."""
    if asset == "order_files":
        files = instance.get_dynamic_partitions(SOURCE_FILES)
        return partition in files, sorted(files)[:SHOWN_KEYS]
    dates, securities = instance.get_dynamic_partitions(TRADE_DATES), instance.get_dynamic_partitions(SECURITIES)
    date, _, security = partition.partition("|")  # keys print the date dimension first
    examples = [f"{date_key}|{security_key}" for date_key in sorted(dates)[:1] for security_key in securities[:SHOWN_KEYS]]
    return date in dates and security in securities, examples
