"""Every setting that shapes an output, parsed and checked once: the filter, the layouts (their
files read once), quantity decimals, the overlap rule, the size edges, the rejected-rows rule and
the declared reports. A step, a sensor tick or a command resolves its settings into this one frozen
value and works under it, rather than parsing them again at each use."""
from __future__ import annotations

from dataclasses import dataclass

from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.report.declared import ReportDeclaration
from orders_assets.core.store.overlap_rule import OverlapRule
from orders_assets.core.store.rejected_rule import RejectedRule


@dataclass(frozen=True)
class ResolvedSettings:
    """The output-shaping settings, resolved."""

    rules: IngestSettings
    """What decides how rows are read and kept (filter, layouts, quantity decimals), default sizing."""
    overlap: OverlapRule
    edges: tuple[int, ...]
    """The order-value edges of by_order_size's buckets."""
    rejected: RejectedRule
    declared: tuple[ReportDeclaration, ...]
    """The reports declared in the config file."""
