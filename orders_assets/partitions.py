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


def add_partition_keys(instance: dg.DagsterInstance, name: str, keys) -> list[str]:
    """Add the keys not yet in dynamic partitions `name`, in the given order; return those added.

    Runs that start together (the sensor's and a manual one) may add the same key at once; the
    instance's unique constraint then refuses the second insert, which here just means 'already
    there': the known keys are read again and only the rest is added.
    """
    from sqlalchemy.exc import IntegrityError  # Dagster's SQL storages raise it as is

    wanted = list(dict.fromkeys(keys))
    for _ in range(5):
        known = set(instance.get_dynamic_partitions(name))
        new = [key for key in wanted if key not in known]
        if not new:
            return []
        try:
            instance.add_dynamic_partitions(name, new)
            return new
        except IntegrityError:
            continue
    raise RuntimeError(f"could not register partitions {new[:5]} of {name}: other processes keep adding them")
