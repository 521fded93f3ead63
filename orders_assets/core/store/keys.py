"""The key of a filtered order set, one type from the sensor to the partition's rows.

A (trade date, security) pair in code; two texts at the edges only: `text` in the manifests and
the catalog ('2025-03-03|BHP', the security as it is), and the Dagster key (partitions.dagster_key,
the security escaped where Dagster's key syntax would split it).
"""
from __future__ import annotations

from typing import NamedTuple


class PartitionKey(NamedTuple):
    """A tuple, so it sorts date first and unpacks as (trade_date, security_code)."""

    trade_date: str
    """YYYY-MM-DD."""
    security_code: str
    """As in the data, exactly."""

    @property
    def text(self) -> str:
        """'2025-03-03|BHP': date first, as the Dagster key of the (date, security) partitions."""
        return f"{self.trade_date}|{self.security_code}"

    @classmethod
    def from_text(cls, text: str) -> PartitionKey:
        """The key of a `text` (its inverse: a security code may hold '|', the date never does)."""
        trade_date, _, security = text.partition("|")
        return cls(trade_date, security)
