"""The settings of a run, typed, as one model: where data is, the filter, the report buckets, the
work sizing (detected profile + rule of core.tuning, with explicit overrides), and what each of them
resolves to. Plain pydantic: `orders-assets run` plans with it (a run with nothing new never imports
Dagster); the Dagster resource (glue/resources.OrdersSettings) is this model as a ConfigurableResource."""

import contextlib
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field, PrivateAttr

from orders_assets.core import schema
from orders_assets.core.errors import InputError
from orders_assets.core.ingest.ingest_settings import IngestSettings, ingest_rules_from
from orders_assets.core.machine.hardware import MachineProfile, detect_profile
from orders_assets.core.machine.tuning import AUTO, OVERRIDABLE, Tuning, overrides_from_environment, tune
from orders_assets.core.plan.resolved_settings import ResolvedSettings
from orders_assets.core.plan.setting_sections import (FilterSettings, MachineSettings, OverlapSettings,
                                                      RejectedRowsSettings, nested_settings)
from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.read.pieces import MIN_PIECE_BYTES
from orders_assets.core.report.declared import DeclarationError, ReportDeclaration, declarations_from
from orders_assets.core.store.order_store import OrderStore
from orders_assets.core.store.overlap_rule import OverlapRule
from orders_assets.core.store.rejected_rule import RejectedRule, threshold_from
from orders_assets.core.store.settings_lease import FolderSettings, settings_lease


class Settings(BaseModel):
    """Where orders land and outputs go, the filter of the order set, the report buckets, and the
    work sizing. Shaped as the config file is: `filter` and `machine` are sections, the rest is
    top level, so the launchpad's run config and `--config FILE` read alike."""

    landing_dir: str = Field(description="Folder watched for order files (CSV, CSV.gz, CSV.zst, Parquet).")
    data_dir: str = Field(description=(
        "The work area (staging, aggregates, quarantine, state): a local or shared POSIX folder, since it "
        "needs renames and locks; also the home of the partitions and reports when output_url is empty."))
    output_url: str = Field(default="", description=(
        "Where partition files and reports are published: a folder, file://, s3://bucket/prefix, "
        "gs://bucket/prefix (any fsspec URL). Empty: data_dir. Credentials come from fsspec's own "
        "configuration (FSSPEC_S3_KEY, ...)."))
    filter: FilterSettings = Field(default=FilterSettings(), description=(
        "Which orders make the order set: order_types, session_start, session_end, participants."))
    timezone: str = Field(default=schema.DEFAULT_TIMEZONE, description=(
        "Exchange time zone: naive timestamps are in it, trade dates and hours are taken in it."))
    size_edges: list[int] = Field(default=list(schema.DEFAULT_SIZE_EDGES), description=(
        "Order-value bucket edges of the by_order_size report, ascending."))
    layouts: list[dict[str, str]] = Field(default=[], description=(
        "Vendor layout rules, first match wins: {layout: NAME_OR_PATH, folder: SUB_FOLDER} or "
        "{layout: ..., match: GLOB}; files no rule names are read as the contract's columns."))
    quantity_decimals: int = Field(default=0, description=(
        "Decimal places a quantity may have: 0 (whole units, the contract) up to 8 (crypto)."))
    piece_bytes: int = Field(default=MIN_PIECE_BYTES, description=(
        "An uncompressed CSV file (at row boundaries) or a Parquet file (at row groups) is cut into pieces, "
        "each its own step, when several can run at once (Dask workers, or machine.file_pieces here): none "
        "shorter than this (default 512 MiB)."))
    overlap: OverlapSettings = Field(default=OverlapSettings(), description=(
        "Rows several current files bring to a partition: rule (union, latest_per_date, dedup) and, for dedup, "
        "columns."))
    rejected_rows: RejectedRowsSettings = Field(default=RejectedRowsSettings(), description=(
        "From which share of rejected rows a file is named loudly (threshold, default 1%) and whether that "
        "fails the run (severity: warn or error)."))
    reports: list[dict] = Field(default=[], description=(
        "Reports of your own beside the contract's: [{name: NAME, keys: [COLUMN, ...], description: TEXT}], "
        "keys from trade_date, security_code, participant_id, side, order_type, hour, size_bucket."))
    machine: MachineSettings = Field(default=MachineSettings(), description=(
        "Work sizing: preset, workers, block_bytes, read_ahead, stage_bytes, memory_budget, max_concurrent, "
        "file_pieces; "
        "unset values are tuned from the detected machine."))

    _resolved: Optional[ResolvedSettings] = PrivateAttr(default=None)

    def __init__(self, **values):
        super().__init__(**nested_settings(values))

    def resolved(self) -> ResolvedSettings:
        """The output-shaping settings parsed and checked once for this resource (Dagster makes one a
        run, or a step in a process of its own; the command one a command): the layouts' files are
        read once, not at each use. A setting that cannot work raises with its fix."""
        if self._resolved is None:
            self._resolved = ResolvedSettings(self._ingest_rules(), self._overlap_rule(), self._edges(),
                                              self._rejected_rule(), self._declared_reports())
        return self._resolved

    def store(self) -> OrderStore:
        return OrderStore(Path(self.data_dir), self.output_url, self.overlap_rule(), self.edges(),
                          self.rejected_rule(), self.declared_reports())

    def overlap_rule(self) -> OverlapRule:
        return self.resolved().overlap

    def _overlap_rule(self) -> OverlapRule:
        """The overlap rule of these settings; a rule that is none is the user's mistake, said with the fix."""
        try:
            return OverlapRule(self.overlap.rule, tuple(self.overlap.columns), self.overlap.duplicates)
        except ValueError as problem:  # the rule's own validation: rule_problem, duplicates_problem
            raise InputError(f"setting overlap: {problem}") from None

    def rejected_rule(self) -> RejectedRule:
        return self.resolved().rejected

    def _rejected_rule(self) -> RejectedRule:
        """The rejected-rows alert of these settings; one that is none is the user's mistake, said with the fix."""
        try:
            return RejectedRule(threshold_from(self.rejected_rows.threshold), self.rejected_rows.severity)
        except ValueError as problem:
            raise InputError(f"setting {problem}") from None

    def declared_reports(self) -> tuple[ReportDeclaration, ...]:
        return self.resolved().declared

    def _declared_reports(self) -> tuple[ReportDeclaration, ...]:
        """The reports declared under `reports:`; one that cannot work is the user's mistake, said with the fix."""
        try:
            return declarations_from(self.reports)
        except DeclarationError as problem:
            raise InputError(f"setting {problem}") from None

    def rule_values(self) -> dict:
        """The values that decide how rows are read and kept, flat, as core reads them."""
        return {**self.filter.model_dump(), "timezone": self.timezone, "layouts": self.layouts,
                "quantity_decimals": self.quantity_decimals}

    def order_filter(self) -> OrderFilter:
        return self.resolved().rules.order_filter

    def machine_profile(self) -> MachineProfile:
        """The machine, profiled once per process and data folder (see profile_of)."""
        return profile_of(self.data_dir)

    def tuning_overrides(self) -> dict:
        """Environment variables (ORDERS_ASSETS_WORKERS, ...), then these settings: explicit values win."""
        explicit = {name: getattr(self.machine, name) for name in OVERRIDABLE}
        if explicit["preset"] == AUTO:
            del explicit["preset"]
        return {**overrides_from_environment(os.environ), **{k: v for k, v in explicit.items() if v is not None}}

    def tuning(self, profile: MachineProfile | None = None) -> Tuning:
        """The validated tuning for this machine (raises TuningError with every problem)."""
        return tune(profile or self.machine_profile(), self.tuning_overrides())

    def ingest_rules(self) -> IngestSettings:
        """What decides how rows are read and kept (filter, layouts, quantity decimals), default sizing:
        enough to plan, whose fingerprint_for says which files are current."""
        return self.resolved().rules

    def _ingest_rules(self) -> IngestSettings:
        return ingest_rules_from(self.rule_values())

    def ingest_settings(self, tuning: Tuning | None = None) -> IngestSettings:
        tuning = tuning or self.tuning()
        return replace(self.ingest_rules(), block_bytes=tuning.block_bytes, stage_bytes=tuning.stage_bytes,
                       workers=tuning.workers, read_ahead=tuning.read_ahead)

    def edges(self) -> tuple[int, ...]:
        return self.resolved().edges

    def _edges(self) -> tuple[int, ...]:
        """The size edges, validated: edges that cannot make buckets are the user's mistake, said with the fix."""
        problem = schema.size_edges_problem(self.size_edges)
        if problem:
            raise InputError(f"setting {problem}")
        return tuple(self.size_edges)

    def folder_settings(self) -> FolderSettings:
        """What of these settings shapes the data folder's outputs (core/store/settings_lease.py):
        the filter, time zone, layouts (with what each layout file says), quantity decimals, size
        edges, overlap rule and output root. The work sizing is not among them."""
        layouts = self.ingest_rules().layouts.rules
        return FolderSettings({
            "filter": self.filter.model_dump(), "timezone": self.timezone,
            "layouts": [{**written, "fingerprint": rule.layout.fingerprint} for written, rule in zip(self.layouts, layouts)],
            "quantity_decimals": self.quantity_decimals, "size_edges": list(self.edges()),
            "overlap": self.overlap.model_dump(), "output_url": self.output_url,
            "rejected_rows": self.rejected_rule().to_json(),
            **({"reports": [declared.to_json() for declared in self.declared_reports()]} if self.reports else {}),
        })

    def lease(self) -> contextlib.AbstractContextManager:
        """The data folder held under these settings while a run or a step writes to it; raises
        SettingsConflict while runs under other settings are in flight."""
        return settings_lease(self.store().state, self.folder_settings())

    def validate(self) -> None:
        """Every setting that shapes an output checked at once, before anything runs: the filter,
        layouts and quantity decimals, the overlap rule, the size edges (each raises with its fix)."""
        self.resolved()


PROFILE_MAX_AGE_SECONDS = 300.0
"""How long a process trusts its machine profile: a run asks for it at code-location load, in the
IO manager and in each step, and the cores do not change; a long-lived code server (the sensor's,
the webserver's) reads memory and disk again after this, as they change."""
_PROFILES: dict[str, tuple[float, MachineProfile]] = {}


def profile_of(data_dir: str | Path) -> MachineProfile:
    """detect_profile(data_dir), at most once per PROFILE_MAX_AGE_SECONDS in this process."""
    key = str(Path(data_dir).resolve())
    cached = _PROFILES.get(key)
    if cached is None or time.monotonic() - cached[0] > PROFILE_MAX_AGE_SECONDS:
        cached = _PROFILES[key] = (time.monotonic(), detect_profile(data_dir))
    return cached[1]
