"""The chunked-source IO manager: landing files reach assets as streams of parsed chunks.

Loading a landing file never reads it: the manager hands the asset a `ChunkedSource` per
requested file partition, whose blocks are parsed one at a time as the asset iterates, so a
200 GB file is held in memory one block at a time.
"""

import dagster as dg

from orders_assets.core.ingest import ChunkedSource
from orders_assets.core.sources import discover_sources
from orders_assets.resources import OrdersSettings


class ChunkedSourceIOManager(dg.ConfigurableIOManager):
    """Loads `landing_orders` partitions (one per source file) as lazy chunked sources."""

    settings: dg.ResourceDependency[OrdersSettings]

    def load_input(self, context: dg.InputContext) -> dict[str, ChunkedSource]:
        wanted = set(context.asset_partition_keys)
        present = {source.key: source for source in discover_sources(self.settings.landing_dir)}
        missing = sorted(wanted - set(present))
        if missing:
            raise FileNotFoundError(
                f"source file(s) {', '.join(missing)} are no longer in the landing folder "
                f"{self.settings.landing_dir}; remove their partitions or put the files back"
            )
        ingest = self.settings.ingest_settings()
        return {key: ChunkedSource(present[key], ingest) for key in sorted(wanted)}

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        raise NotImplementedError("landing files are written by the exchange's export, never by the pipeline")
