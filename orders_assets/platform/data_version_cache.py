"""An asset step's input data versions without listing every upstream partition key.

At the start of every asset step, Dagster's `DataVersionCache._fetch_input_asset_version_info`
(1.13) builds the provenance of each partitioned dependency as follows: it lists every key of the
dependency's subset, `list(subset.get_partition_keys())`, only to compare their number with
`SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD` (100). At or above it, the keys are dropped and
the dependency's last event's data version is used, as for an unpartitioned asset.

For the reports step, the dependency is the (date, security) asset under `AllPartitionMapping`.
At a year's 75,000 keys that listing builds 75,000 `MultiPartitionKey`s: 1.27 s of a 1.68 s
reports run under a profiler (../shared/dagster-notes.md). No Dagster setting skips the listing,
and `len(subset)` of that all-partitions subset lists the keys too; its definition's
`get_num_partitions()` counts them from the dimensions.

`install()` puts in Dagster's method a copy of it that differs in one place: it counts the subset
(`partition_count`) before listing it, and lists the keys only below the threshold, where Dagster hashes their
versions. The data versions it records are Dagster's, at every size.

The copy is installed only over the exact source it was made from (a hash of Dagster's method).
A different Dagster keeps its own method, and the test that checks the copy is in place fails,
so that an upgrade is reviewed rather than patched blind.
"""
from __future__ import annotations

import hashlib
import inspect

import dagster as dg
import dagster._check as check
from dagster._core.definitions.data_version import (SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD,
                                                    extract_data_version_from_entry)
from dagster._core.definitions.partitions.subset import AllPartitionsSubset, PartitionsSubset
from dagster._core.execution.context.data_version_cache import DataVersionCache, InputAssetVersionInfo

DAGSTER_SOURCE_SHA256 = "00b7cf9447b40c12420e72a9149f155542b9213e5d76a12748d316ee49cd537a"
"""sha256 of the source of Dagster 1.13.27's `DataVersionCache._fetch_input_asset_version_info`,
the method `_fetch_input_asset_version_info` below copies."""

_dagster_method = DataVersionCache._fetch_input_asset_version_info


def _fetch_input_asset_version_info(self: DataVersionCache, asset_keys) -> None:
    """Dagster's method, with the upstream subset counted before its keys are listed."""
    asset_records_by_key = self._fetch_asset_records(asset_keys)
    for key in asset_keys:
        asset_record = asset_records_by_key.get(key)
        event = self._get_input_asset_event(key, asset_record)
        if event is None:
            self.input_asset_version_info[key] = None
            continue
        input_name = self._context.job_def.asset_layer.get_node_input_name(self._context.node_handle, key)
        data_version = extract_data_version_from_entry(event.event_log_entry)
        if input_name and self._context.has_asset_partitions_for_input(input_name):
            subset = self._context.asset_partitions_subset_for_input(input_name, require_valid_partitions=False)
            if partition_count(subset) < SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD:  # the one change
                data_version = self._get_partitions_data_version_from_keys(key, list(subset.get_partition_keys()))
        self.input_asset_version_info[key] = InputAssetVersionInfo(
            event.storage_id, check.not_none(event.event_log_entry.dagster_event).event_type, data_version,
            event.run_id, event.timestamp)


def partition_count(subset: PartitionsSubset) -> int:
    """How many keys a subset holds. `len()` of Dagster's all-partitions subset lists them all: its
    definition counts them instead (for a multi-partition, the product of its dimensions' counts:
    two short queries for the dynamic dates and securities)."""
    if isinstance(subset, AllPartitionsSubset):
        with dg.partition_loading_context(new_ctx=subset._partition_loading_context):
            return subset.partitions_def.get_num_partitions()
    return len(subset)


def dagster_source_sha256() -> str:
    """The hash of the method Dagster ships (not the one installed)."""
    return hashlib.sha256(inspect.getsource(_dagster_method).encode()).hexdigest()


def install() -> bool:
    """Installs the counting copy if Dagster's method is the one it was made from; says whether it is in place."""
    if DataVersionCache._fetch_input_asset_version_info is _fetch_input_asset_version_info:
        return True
    if dagster_source_sha256() != DAGSTER_SOURCE_SHA256:
        return False
    DataVersionCache._fetch_input_asset_version_info = _fetch_input_asset_version_info
    return True
