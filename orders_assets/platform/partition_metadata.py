"""Each partition's own metadata for a step over many partitions, added in one pass.

`context.add_asset_metadata(metadata, partition_key=...)` checks the key by listing the step's
keys again (a query of the dynamic partitions) and copies the metadata of every key added so far,
at each call (Dagster 1.13, context/system.py and metadata_logging.py): O(keys) a call, O(keys²) a
step, which is why a 75,000-key backfill could not give each key its figures. This checks the keys
once, against the step's keys as a set, and extends the step's metadata accumulator with one copy;
Dagster then writes each key's metadata on that key's materialization, as it does for
add_asset_metadata.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
from dagster._core.execution.context.metadata_logging import AssetMetadataHandle, OutputMetadataAccumulator


def add_partition_metadata(context: dg.AssetExecutionContext, by_partition: Mapping[str, Mapping],
                           step_keys: Iterable[str]) -> None:
    """Metadata for each of the step's partition keys (`by_partition`: key -> metadata).

    `step_keys` are the step's keys as the asset already listed them (`context.partition_keys`):
    Dagster lists a multi-partition's keys anew at each access, about 10 us a key of the whole
    definition (0.7 s at a year's 75,000), so a step lists them once."""
    targeted = set(step_keys)
    stray = [key for key in by_partition if key not in targeted]
    if stray:
        raise dg.DagsterInvariantViolationError(
            f"metadata for {len(stray)} partition key(s) this step does not target, e.g. {stray[0]!r}")
    step = context.op_execution_context._step_execution_context  # noqa: SLF001 (Dagster's own accumulator)
    gathered = dict(step._metadata_accumulator.per_output_metadata)  # noqa: SLF001
    for key, metadata in by_partition.items():
        handle = AssetMetadataHandle(asset_key=context.asset_key, partition_key=key)
        gathered[handle] = {**gathered.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=gathered)  # noqa: SLF001
