"""What decides how a file's rows are read and kept (the filter, layouts, quantity decimals: the
ingest fingerprint) and how its work is sized (blocks, staging, threads): one frozen value a step
resolves once and hands every block."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from orders_assets.core.read.filters import OrderFilter, order_filter_from
from orders_assets.core.read.layout.model import Layout, LayoutChoice
from orders_assets.core.read.layout.rules import layout_choice_from
from orders_assets.core.schema import MAX_QUANTITY_DECIMALS
from orders_assets.core.read.reader import DEFAULT_BLOCK_BYTES


COMPILED, EXACT = "compiled", "exact"
"""The ingest engines (IngestSettings.engine)."""
DEFAULT_STAGE_BYTES = 64 << 20
"""Kept rows held in memory before a flush to the staging area."""

ENGINE_ENV = "ORDERS_ASSETS_ENGINE"
"""compiled (the default) or exact: which path reads the rows of files in the contract's layout."""


@dataclass(frozen=True)
class IngestSettings:
    order_filter: OrderFilter = field(default_factory=OrderFilter)
    layouts: LayoutChoice = field(default_factory=LayoutChoice)
    """Which vendor layout reads which file (canonical for files no rule names)."""
    quantity_decimals: int = 0
    """Decimal places a quantity may have (0: whole units, the contract's default)."""
    block_bytes: int = DEFAULT_BLOCK_BYTES
    stage_bytes: int = DEFAULT_STAGE_BYTES
    workers: int | None = None
    """Blocks processed at once (threads; Arrow releases the GIL). None: one per CPU."""
    read_ahead: int = 1
    """Blocks read and parsed ahead of the consumer beyond one per worker (memory: see core.tuning)."""
    engine: str = field(default_factory=lambda: os.environ.get(ENGINE_ENV, COMPILED))
    """COMPILED: the compiled pass reads the rows it can judge exactly, the exact path the rest (and
    every file of a vendor layout); EXACT: the exact path reads every row (the differential test's
    reference, and a way round a defect). Both give the same rows, quarantine and counts."""

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def fingerprint_for(self, source_key: str) -> str:
        """What a file's staged outputs depend on besides its bytes: the filter, its layout, the
        quantity decimals. A file ingested under another value is ingested again."""
        return ingest_fingerprint(self.order_filter, self.layouts.layout_for(source_key), self.quantity_decimals)


def ingest_rules_from(values: dict) -> IngestSettings:
    """Filter, layouts and quantity decimals from settings values (default sizing): enough to plan."""
    decimals = values.get("quantity_decimals", 0)
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= MAX_QUANTITY_DECIMALS:
        raise ValueError(f"quantity_decimals: {decimals!r} is not a whole number from 0 to {MAX_QUANTITY_DECIMALS}")
    return IngestSettings(order_filter=order_filter_from(values), layouts=layout_choice_from(values.get("layouts") or []),
                          quantity_decimals=decimals)


def ingest_fingerprint(order_filter: OrderFilter, layout: Layout, quantity_decimals: int) -> str:
    """The filter's fingerprint alone for canonical files with whole quantities (as before layouts)."""
    if layout.is_canonical and quantity_decimals == 0:
        return order_filter.fingerprint
    return f"{order_filter.fingerprint}/{layout.fingerprint}/q{quantity_decimals}"
