"""Partition definitions, made once and imported everywhere.

Both dimensions of the order set are dynamic: securities and dates are discovered from the
data by the ingest, not declared. The dimension names are chosen so that Dagster orders keys
date-major ("2025-03-03|BHP"): a new day across all securities, the common backfill, is one
contiguous key range and so one single-run step.
"""
import dagster as dg

SOURCE_FILES = "source_files"
TRADE_DATES = "trade_dates"
SECURITIES = "securities"
DATE_DIMENSION = "date"
SECURITY_DIMENSION = "security"

source_file_partitions = dg.DynamicPartitionsDefinition(name=SOURCE_FILES)
trade_date_partitions = dg.DynamicPartitionsDefinition(name=TRADE_DATES)
security_partitions = dg.DynamicPartitionsDefinition(name=SECURITIES)
order_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: trade_date_partitions, SECURITY_DIMENSION: security_partitions}
)
