"""The sections of the settings (the config file's `filter:`, `machine:`, `overlap:` and
`rejected_rows:`) as plain pydantic models: the command plans with them without importing Dagster;
the Dagster resource (glue/resources.py) takes each as a dg.Config of the same fields."""
from typing import Optional

from pydantic import BaseModel, Field

from orders_assets.core import schema
from orders_assets.core.machine.tuning import AUTO
from orders_assets.core.store.overlap_rule import DUPLICATES_WARN, UNION
from orders_assets.core.store.rejected_rule import DEFAULT_THRESHOLD, WARN, percent


class FilterSettings(BaseModel):
    """Which orders make the order set (contract section 3): the config file's `filter:` section."""

    order_types: list[str] = Field(default=list(schema.DEFAULT_ORDER_TYPES), description=(
        "Order types kept in the order set; default: Centre Point; empty (or `all` in a config file): every type."))
    session_start: str = Field(default=schema.DEFAULT_SESSION_START, description=(
        "Local time (HH:MM:SS) from which orders are kept, inclusive."))
    session_end: str = Field(default=schema.DEFAULT_SESSION_END, description=(
        "Local time (HH:MM:SS) at which the kept session ends, exclusive."))
    participants: list[str] = Field(default=[], description="Participants kept; empty: every participant.")


class MachineSettings(BaseModel):
    """The work sizing, the config file's `machine:` section: unset values are tuned from the
    detected machine, set ones win."""

    preset: str = Field(default=AUTO, description=(
        "Machine preset: auto (from the detected machine), laptop, workstation or server."))
    workers: Optional[int] = Field(default=None, description=(
        "Threads per step; unset: the cores this process may use (container quota included)."))
    block_bytes: Optional[int] = Field(default=None, description=(
        "Bytes of a source file parsed at once; unset: the preset's (16 MiB on a laptop), halved until a "
        "step fits the memory budget."))
    read_ahead: Optional[int] = Field(default=None, description=(
        "Blocks read ahead of the parsing threads; unset: the preset's."))
    stage_bytes: Optional[int] = Field(default=None, description=(
        "Bytes of kept rows buffered before a staging flush; unset: the preset's."))
    memory_budget: Optional[int] = Field(default=None, description=(
        "Bytes of memory the steps may use together; unset: the preset's share of the memory available."))
    max_concurrent: Optional[int] = Field(default=None, description=(
        "Dagster step processes at once (multiprocess executor); unset: as many as fit the memory budget."))
    file_pieces: Optional[int] = Field(default=None, description=(
        "Pieces a big uncompressed CSV or Parquet file is cut into on this machine, each its own step process at once "
        "(1: never cut here); unset: one per 7 cores, at most max_concurrent. On Dask: one per worker."))


class OverlapSettings(BaseModel):
    """What a partition holds when several current files bring rows to it: the config file's
    `overlap:` (`union`, `latest_per_date`, or `{dedup: [columns]}`)."""

    rule: str = Field(default=UNION, description=(
        "union (every current file counts; rows equal across files are reported), latest_per_date (each trade "
        "date from the file whose name sorts last, digits as numbers), or dedup (a row equal on `columns` to "
        "a row of an earlier file counts once)."))
    columns: list[str] = Field(default=[], description=(
        "dedup only: the columns on which two rows are the same order event, e.g. order_id, timestamp, side."))
    duplicates: str = Field(default=DUPLICATES_WARN, description=(
        "When kept rows are counted twice (union over re-sent files), the check no_rows_counted_twice: warn "
        "(the default) or error (it fails at error severity, and `orders-assets run` says FAILED)."))


class RejectedRowsSettings(BaseModel):
    """When a file's rejected rows are named loudly: the config file's `rejected_rows:` section."""

    threshold: str = Field(default=percent(DEFAULT_THRESHOLD), description=(
        "Share of a file's rows rejected to quarantine from which the check rejected_rows_below_threshold "
        "names the file, the run's output and the page warn: a fraction (0.01) or a percentage ('1%')."))
    severity: str = Field(default=WARN, description=(
        "warn (the default: a warning) or error (the check fails at error severity, and `orders-assets run` "
        "says FAILED and exits 1)."))


SECTION_TYPES = {"filter": FilterSettings, "machine": MachineSettings}
"""The nested sections of Settings; the config file's sections take their keys (config_file.SECTIONS)."""


def nested_settings(values: dict) -> dict:
    """Settings values with the fields of a section given at the top level (the shape of releases
    before the sections, still accepted from Python) moved into their section; a section's own
    values win over loose ones."""
    nested = dict(values)
    for section, settings_type in SECTION_TYPES.items():
        loose = {name: nested.pop(name) for name in list(nested) if name in settings_type.model_fields}
        if loose:
            given = nested.get(section) or {}
            given = given.model_dump() if isinstance(given, BaseModel) else dict(given)
            nested[section] = {**loose, **given}
    return nested
