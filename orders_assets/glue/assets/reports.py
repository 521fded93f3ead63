"""One asset per report of contract section 4, and the summary.

All reports are computed in one step from the partitions' partial aggregates (read once),
never from the orders themselves; each is still its own asset in the graph and can be
materialized alone.
"""

import base64
import time

import dagster as dg

from orders_assets.glue.assets.order_sets import filtered_orders
from orders_assets.core.schema import REPORT_DESCRIPTIONS
from orders_assets.glue.names import ENGINE_SECONDS, ORDER_FILES, REPORTS_GROUP, SUMMARY
from orders_assets.core.store import outputs
from orders_assets.core.assemble.aggregate_files import build_reports, partial_totals, rebucket
from orders_assets.core.report.declared_reports import build_declared_reports
from orders_assets.core.errors import InputError
from orders_assets.core.report import market_share
from orders_assets.core.report.declared import ReportDeclaration
from orders_assets.core.report.plot_data import report_totals
from orders_assets.core.ingest.progress import MiB, peak_rss_bytes
from orders_assets.core.report.files import markdown_preview, write_report
from orders_assets.core.report.markdown import markdown_table
from orders_assets.core.report.page import write_plot, write_report_page
from orders_assets.core.report.summary import read_summary, write_summary
from orders_assets.core.report.summary_build import build_summary
from orders_assets.core.plan.snapshot import StoreSnapshot
from orders_assets.core.plan.stages import reports_problem
from orders_assets.glue.resources import OrdersSettings, step_lease


def report_specs(declared: tuple[ReportDeclaration, ...] = ()) -> list[dg.AssetSpec]:
    """The contract's seven report assets, then one per report declared in the config file."""
    described = [*REPORT_DESCRIPTIONS.items(), (market_share.NAME, market_share.DESCRIPTION),
                 *((report.name, report.summary_line) for report in declared)]
    return [dg.AssetSpec(name, deps=[filtered_orders], group_name=REPORTS_GROUP, kinds={"csv", "parquet"},
                         description=description) for name, description in described]


def reports_asset(declared: tuple[ReportDeclaration, ...] = ()) -> dg.AssetsDefinition:
    """The reports step: one multi-asset over report_specs(declared), each report materialized alone or
    with the others."""

    @dg.multi_asset(name="reports", specs=report_specs(declared), can_subset=True)
    def reports(context: dg.AssetExecutionContext, settings: OrdersSettings):
        """Builds the selected reports: the contract's from the combined partial aggregates, the
        declared ones from the date files; draws their plots and rewrites reports/index.html (which
        links every report file and plot present)."""
        yield from _build_selected(context, settings)

    return reports


reports = reports_asset()
"""The reports step without declared reports (the Definitions build theirs from the settings)."""


def _build_selected(context: dg.AssetExecutionContext, settings: OrdersSettings):
    started = time.perf_counter()
    store = settings.store()
    with step_lease(settings), store.locked():  # one consistent state of the partitions, one writer of a report
        _require_current(store, settings)
        rebucketed = rebucket(store, store.size_edges, settings.tuning().workers)
        if rebucketed:
            context.log.info(f"size buckets of {len(rebucketed)} date(s) brought to size_edges "
                             f"{list(store.size_edges)} from their order sets")
        names = {asset_key: asset_key.to_user_string() for asset_key in sorted(context.selected_asset_keys)}
        declared = [report for report in store.declared_reports if report.name in names.values()]
        contract = [name for name in names.values() if name in REPORT_DESCRIPTIONS]
        wants_share = market_share.NAME in names.values()
        needed = sorted({*contract, market_share.DAILY}) if wants_share else contract  # its numerators: one read
        tables = build_reports(store, needed, store.size_edges)  # a few dates' partials at a time
        try:
            tables.update(build_declared_reports(store, declared, store.size_edges))  # one read of the date files
        except InputError as problem:  # a declared key no file holds: the user's to fix, in one line
            raise dg.Failure(description=str(problem)) from None
        share = market_share.build_market_share(store, tables[market_share.DAILY]) if wants_share else None
        if share is not None:
            tables[market_share.NAME] = share.table
            _say_what_the_market_misses(context, share)
        built = []
        for asset_key, name in names.items():
            report_started = time.perf_counter()
            table = tables[name]
            paths = write_report(table, store.reports, name)
            plot = write_plot(store.reports, name, table)
            extra = _share_metadata(share) if name == market_share.NAME else {}
            built.append((asset_key, table, paths, plot, extra, time.perf_counter() - report_started))
        write_report_page(store.reports, read_summary(store.reports), store.declared_reports)
    shared = (time.perf_counter() - started - sum(item[-1] for item in built)) / max(1, len(built))
    peak_mib = round(peak_rss_bytes() / MiB, 1)
    for asset_key, table, paths, plot, extra, seconds in built:
        orders, value = report_totals(table)
        yield dg.MaterializeResult(
            asset_key=asset_key,
            metadata={
                "rows": table.num_rows,
                "orders": orders,
                "value": value,
                "csv": dg.MetadataValue.path(outputs.display(paths["csv"])),
                "parquet": dg.MetadataValue.path(outputs.display(paths["parquet"])),
                "preview": dg.MetadataValue.md(markdown_preview(table)),
                **(plot_metadata(asset_key.to_user_string(), *plot) if plot else {}),
                "peak_rss_mib": peak_mib,
                ENGINE_SECONDS: round(seconds + shared, 3),  # its own work, and its share of loading the aggregates
                **extra,
            },
        )


def _share_metadata(share) -> dict:
    """market_share's whole-set figures and what its denominators miss, on the asset's page."""
    totals = share.totals()
    metadata = {"market_orders": totals["market_orders"], "market_value": str(totals["market_value"]),
                "orders_share": totals["orders_share"], "value_share": totals["value_share"],
                "files_without_market_totals": list(share.files_without_market_totals),
                "market_counts_every_file": share.market_counts_every_file}
    return {name: value for name, value in metadata.items() if value is not None}


def _say_what_the_market_misses(context: dg.AssetExecutionContext, share) -> None:
    """Loud, in the run's output: files whose rows are not in the market's totals, and an overlap
    rule under which the market counts re-sent rows in every file."""
    missing = share.files_without_market_totals
    if missing:
        context.log.warning(f"market_share: {len(missing)} file(s) ingested before the market's totals were kept "
                            f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}): their rows are not in "
                            "its market columns: `orders-assets run --rehash` reads them again for their totals")
    if share.market_counts_every_file:
        context.log.warning("market_share: under this overlap rule the order set counts a re-sent row once, the "
                            "market in every current file that holds it")


def _require_current(store, settings: OrdersSettings) -> None:
    """The reports describe one order set under these settings, or are not built (stages.reports_problem)."""
    problem = reports_problem(StoreSnapshot.of(store), settings.ingest_rules().fingerprint_for)
    if problem:
        raise dg.Failure(description=problem)


def plot_metadata(name: str, path, png: bytes) -> dict:
    """The plot inline as a markdown image (the UI opens it from the metadata table) and its file."""
    encoded = base64.b64encode(png).decode("ascii")
    return {"plot": dg.MetadataValue.md(f"![{name}](data:image/png;base64,{encoded})"),
            "plot_file": dg.MetadataValue.path(outputs.display(path))}


@dg.asset(name=SUMMARY, deps=report_specs(), group_name=REPORTS_GROUP, kinds={"json"})
def summary(context: dg.AssetExecutionContext, settings: OrdersSettings) -> dg.MaterializeResult:
    """Row accounting of every source file and the totals of the filtered order set (summary.json).

    For each file: rows read = kept + filtered out + rejected; every file of the landing folder not
    read or counted (a copy, a refused file, a name it skips) is named with the reason. The checks
    on this asset confirm that nothing was lost or counted twice between the files, the partitions
    and the reports. reports/index.html links every report and plot.
    """
    started = time.perf_counter()
    store = settings.store()
    with step_lease(settings), store.locked():
        _require_current(store, settings)
        built = build_summary(store, partial_totals(store), settings.order_filter())
        page = write_report_page(store.reports, built, store.declared_reports)  # before summary.json, the commit point
        path = write_summary(built, store.reports)
    document = built.to_json()
    log_file_overlaps(context, built)
    scalars = {key: value for key, value in document.items() if key not in ("files", "version")}
    return dg.MaterializeResult(
        metadata={
            **{key: value for key, value in scalars.items() if isinstance(value, int)},
            **{key: dg.MetadataValue.text(document[key])
               for key in ("quantity", "value") if isinstance(document[key], str)},
            **{key: dg.MetadataValue.text(document[key])
               for key in ("first_trade_date", "last_trade_date") if document[key]},
            **({"order_filter": dg.MetadataValue.json(document["order_filter"])} if document["order_filter"] else {}),
            **({"rows_filtered_out_by": dg.MetadataValue.json(document["rows_filtered_out_by"])}
               if document["rows_filtered_out_by"] else {}),
            **({"rejections_by_reason": dg.MetadataValue.md(markdown_table(
                ("reason", "rows"), [(reason, f"{rows:,}") for reason, rows in built.rejections_by_reason],
                right_aligned=("rows",)))}
               if built.rejections_by_reason else {}),
            "overlap": dg.MetadataValue.text(store.overlap.text),
            **({"rows_duplicated_across_files": dg.MetadataValue.md(pairs_table(built.rows_duplicated_across_files))}
               if built.rows_duplicated_across_files else {}),
            "path": dg.MetadataValue.path(outputs.display(path)),
            "index_html": dg.MetadataValue.path(outputs.display(page)),
            "index_url": dg.MetadataValue.url(outputs.browser_url(page)),
            "peak_rss_mib": round(peak_rss_bytes() / MiB, 1),
            ENGINE_SECONDS: round(time.perf_counter() - started, 3),
        }
    )


def log_file_overlaps(context: dg.AssetExecutionContext, built) -> None:
    """Each source file with rows another current file also has, or that the overlap rule left out:
    an observation of its order_files partition, so the file's page in the UI says so."""
    with_earlier = {}
    for pair in built.rows_duplicated_across_files:
        with_earlier.setdefault(pair.second_file, []).append(pair)
    for entry in built.files:
        if not (entry.rows_duplicated or entry.rows_superseded or entry.rows_deduplicated):
            continue
        context.log_event(dg.AssetObservation(asset_key=dg.AssetKey(ORDER_FILES), partition=entry.source_file, metadata={
            "rows_duplicated_across_files": entry.rows_duplicated,
            "rows_superseded": entry.rows_superseded,
            "rows_deduplicated": entry.rows_deduplicated,
            "duplicates_of": dg.MetadataValue.md(pairs_table(with_earlier.get(entry.source_file, ()))),
        }))


def pairs_table(pairs, limit: int = 20) -> str:
    """File pairs with equal rows (overlap.FilePair) as a markdown table, the first `limit`."""
    if not pairs:
        return "no rows equal to an earlier file's"
    rows = [(pair.first_file, pair.second_file, f"{pair.rows:,}", f"{pair.partitions:,}",
             f"{pair.first_line_in_first}, {pair.first_line_in_second}") for pair in pairs[:limit]]
    if len(pairs) > limit:
        rows.append((f"... {len(pairs) - limit} more pairs in summary.json", "", "", "", ""))
    return markdown_table(("earlier file", "later file", "rows", "partitions", "first lines"), rows,
                          right_aligned=("rows", "partitions"))
