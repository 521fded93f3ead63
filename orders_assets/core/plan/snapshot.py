"""The store as one look saw it: the manifests and the catalog, read once and shared by every
decision of a sensor tick or a stage of `orders-assets run`.

A tick decides several things from the same state (which sources left, which partitions are
pending, their weights and run keys, whether the reports are current); each used to list and
read the store again. A snapshot reads it once; what a tick changes itself (retiring sources)
it applies to the snapshot (`without`) rather than reading the store again. A stage that runs
changes the store, so the next stage takes a new snapshot.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

import pyarrow as pa

from orders_assets.core.assemble.assembly import pending_of, signatures_of
from orders_assets.core.store.overlap_rule import OverlapRule
from orders_assets.core.plan.planner import assembly_weights
from orders_assets.core.store import catalog
from orders_assets.core.store.catalog import CatalogEntry
from orders_assets.core.store.keys import PartitionKey
from orders_assets.core.store.manifest import Manifest


@dataclass(frozen=True)
class StoreSnapshot:
    """Every current manifest, by source key, and the catalog table."""

    manifests: tuple[Manifest, ...]
    catalog_table: pa.Table
    overlap: OverlapRule = OverlapRule()
    """The store's overlap rule: which files' rows the partitions should hold."""

    @classmethod
    def of(cls, store) -> StoreSnapshot:
        """The store now: one listing of its sources, one read of its catalog."""
        return cls(tuple(store.manifests()), store.catalog_table(), store.overlap)

    def without(self, source_keys: Iterable[str]) -> StoreSnapshot:
        """The snapshot once these sources are retired (their manifests removed; the catalog is
        unchanged until their partitions are assembled again)."""
        retired = set(source_keys)
        return replace(self, manifests=tuple(m for m in self.manifests if m.source_key not in retired))

    def sources_not_in(self, present: Iterable[str]) -> list[str]:
        """Ingested sources that are no longer in the landing folder."""
        present = set(present)
        return [manifest.source_key for manifest in self.manifests if manifest.source_key not in present]

    @cached_property
    def catalog(self) -> dict[PartitionKey, CatalogEntry]:
        return catalog.entries(self.catalog_table)

    @cached_property
    def expected_signatures(self) -> dict[PartitionKey, str]:
        """The signature each touched partition should have once assembled."""
        return signatures_of(self.manifests, rule=self.overlap)

    def pending_partitions(self) -> list[PartitionKey]:
        """Partitions whose assembled state differs from what the manifests say (assembly.pending_partitions)."""
        return pending_of(self.expected_signatures, self.catalog)

    def assembly_weights(self, keys: Iterable[PartitionKey]) -> dict[PartitionKey, int]:
        return assembly_weights(self.manifests, keys)

    def inputs_signature(self, store) -> str:
        """What reports built from this snapshot would name (OrderStore.inputs_signature)."""
        return store.inputs_signature(list(self.manifests), self.catalog_table)
