"""IO managers: landing files reach assets as streams of parsed chunks, and filtered_orders partitions
reach downstream assets as tables.

Loading a landing file never reads it: the manager hands the asset a `ChunkedSource` per
requested file partition, whose blocks are parsed one at a time as the asset iterates, so a
200 GB file is held in memory one block at a time.
"""

import dagster as dg
import pyarrow as pa
from upath import UPath

from orders_assets.core.store.date_files import read_partitions
from orders_assets.core.ingest.source import ChunkedSource
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets.glue.partitions import security_code, store_key
from orders_assets.glue.names import DATE_DIMENSION, SECURITY_DIMENSION
from orders_assets.glue.resources import OrdersSettings


class ChunkedSourceIOManager(dg.IOManager):
    """Loads `landing_orders` partitions (one per source file) as lazy chunked sources."""

    def __init__(self, settings: OrdersSettings):
        self.settings = settings

    def load_input(self, context: dg.InputContext) -> dict[str, ChunkedSource]:
        """The requested files still in the landing folder. One that left it since the run was planned
        is not handed: the asset names it (its partition keys are the ones requested), and the other
        files are ingested."""
        wanted = set(context.asset_partition_keys)
        present = {source.key: source for source in discover_sources(self.settings.landing_dir)}
        ingest = self.settings.ingest_settings()
        return {key: ChunkedSource(present[key], ingest) for key in sorted(wanted & set(present))}

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        raise NotImplementedError("landing files are written by the exchange's export, never by the pipeline")


@dg.io_manager(required_resource_keys={"settings"})
def chunked_source_io_manager(init_context: dg.InitResourceContext) -> ChunkedSourceIOManager:
    """The manager over the `settings` resource by its key, so that settings given in a run's config
    (as `orders-assets run` does for the runs it sends to a Dask cluster) reach it too: a settings
    object nested in a Pythonic IO manager would keep the values it was built with."""
    return ChunkedSourceIOManager(init_context.resources.settings)




class FilteredOrdersIOManager(dg.UPathIOManager):
    """Loads `filtered_orders` partitions where the asset published them (the output root: a folder or
    an s3:// or gs:// URL), as Dagster's UPathIOManager loads any partitioned input: one partition as a
    pyarrow Table, several (a downstream asset over a range, or unpartitioned) as a dict by partition key.

    It only loads: filtered_orders writes its own files and returns a MaterializeResult, so Dagster
    never hands this manager an object to store."""

    def __init__(self, store: OrderStore):
        super().__init__(base_path=store.orders)
        self.store = store

    def get_path_for_partition(self, context, path, partition: str) -> UPath:
        """Dagster names a multi-partition "date/security" (dimensions in name order): its date's file."""
        trade_date, _security = partition.split("/", 1)
        return self.store.date_file(trade_date)

    def load_partitions(self, context: dg.InputContext):
        """Each partition's own rows: its row groups of its date's file, each file opened once however
        many of its securities are asked for (UPathIOManager's documented override for a format that
        holds several partitions in one file). One partition gives a Table, several a dict by key."""
        wanted = [(key, *_date_and_security(key)) for key in context.asset_partition_keys]
        allow_missing = (context.definition_metadata or {}).get("allow_missing_partitions", False)
        loaded: dict[str, pa.Table] = {}
        for trade_date in dict.fromkeys(trade_date for _key, trade_date, _security in wanted):
            securities = {key: security for key, day, security in wanted if day == trade_date}
            found = read_partitions(self.store.date_file(trade_date), trade_date, securities.values())
            for key, security in securities.items():
                if security in found:
                    loaded[key] = found[security]
                elif not allow_missing:
                    raise FileNotFoundError(f"partition {key} of filtered_orders has no rows in "
                                            f"{self.store.date_file(trade_date)}: materialize it first")
        if len(wanted) == 1:
            return loaded[wanted[0][0]]
        return loaded

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pa.Table:
        raise NotImplementedError("partitions are read by load_partitions, a date file at a time")

    def dump_to_path(self, context: dg.OutputContext, obj, path: UPath) -> None:
        raise NotImplementedError("filtered_orders writes its partition files itself (core/assemble/assembly.py)")


def _date_and_security(partition_key) -> tuple[str, str]:
    """(trade_date, security) of a (date, security) multi-partition key."""
    dimensions = getattr(partition_key, "keys_by_dimension", None)
    if dimensions is None:
        return store_key(partition_key)
    return dimensions[DATE_DIMENSION], security_code(dimensions[SECURITY_DIMENSION])


@dg.io_manager(required_resource_keys={"settings"})
def filtered_orders_input(init_context: dg.InitResourceContext) -> FilteredOrdersIOManager:
    """The resource a downstream asset names in `AssetIn(input_manager_key=FILTERED_ORDERS_IO_MANAGER)`;
    over the `settings` resource by its key, like chunked_source_io_manager, so run config reaches it."""
    return FilteredOrdersIOManager(init_context.resources.settings.store())
