"""Asset checks for the invariants users rely on; they show on the summary asset in the UI."""

from decimal import Decimal

import dagster as dg
import pyarrow.compute as pc

from orders_assets.assets.reports import summary
from orders_assets.core import schema
from orders_assets.core.invariants import partition_problems, report_problems
from orders_assets.core.report.page import read_summary
from orders_assets.resources import OrdersSettings


@dg.asset_check(asset=summary, blocking=True, description="rows_read = kept + filtered_out + rejected for every source file, "
                                           "and the quarantine holds exactly the rejected rows.")
def rows_accounted_for(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    problems = []
    for manifest in store.manifests():
        key = manifest.source_key
        total = manifest.rows_kept + manifest.rows_filtered_out + manifest.rows_rejected
        if manifest.rows_read != total:
            problems.append(f"{key}: rows_read {manifest.rows_read} != kept + filtered_out + rejected {total}")
        quarantined = store.quarantined(key).num_rows
        if quarantined != manifest.rows_rejected:
            problems.append(f"{key}: quarantine holds {quarantined} rows, rows_rejected is {manifest.rows_rejected}")
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none"})


@dg.asset_check(asset=summary, blocking=True, description="The summary's totals equal the sum over the assembled partitions.")
def totals_match_partitions(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    document = read_summary(store.reports)
    catalog = store.catalog_table()
    partitions = {
        "orders": pc.sum(catalog["rows"]).as_py() or 0,
        "quantity": schema.whole_units(pc.sum(catalog["quantity"]).as_py() or 0),
        "value": sum((Decimal(value) for value in catalog["value"].to_pylist()), Decimal(0)),
    }
    reported = {"orders": document["orders"], "quantity": _exact(document["quantity"]),
                "value": Decimal(document["value"])}
    return dg.AssetCheckResult(
        passed=partitions == reported,
        metadata={"partitions": str(partitions), "summary": str(reported)},
    )


def _exact(amount: int | str) -> int | Decimal:
    """A summary amount as a number: fractional quantities are decimal strings, whole ones ints."""
    return Decimal(amount) if isinstance(amount, str) else amount


@dg.asset_check(asset=summary, blocking=True, description="Every report has the contract's columns in order, with unique and "
                                           "sorted keys; every partition file has the order set's columns.")
def outputs_match_contract(settings: OrdersSettings) -> dg.AssetCheckResult:
    problems = report_problems(settings.store(), settings.edges())
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none"})


@dg.asset_check(asset=summary, blocking=True, description="The rows the ingests kept are exactly the rows in the partitions: "
                                           "nothing lost, nothing counted twice.")
def kept_rows_in_partitions(settings: OrdersSettings) -> dg.AssetCheckResult:
    problems = partition_problems(settings.store())
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems[:50]) or "none",
                                                              "problem_count": len(problems)})
