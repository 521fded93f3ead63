"""Asset checks for the invariants users rely on; they show on the summary asset in the UI.

Each check calls core/invariants.py and reports what it found; the rules themselves live there.
"""

import dagster as dg

from orders_assets.glue.assets.reports import pairs_table, summary
from orders_assets.core.report.attention import rejected_headline, rejected_shares, unmatched_filter_values
from orders_assets.core.invariants import (
    accounting_problems,
    partition_problems,
    partition_totals,
    report_problems,
    report_total_problems,
    totals_problems,
)
from orders_assets.core.report.markdown import markdown_table
from orders_assets.core.report.summary import read_summary
from orders_assets.core.store.overlap_rule import COUNTED_TWICE_FIX, DUPLICATES_ERROR
from orders_assets.core.store.rejected_rule import ERROR
from orders_assets.glue.resources import OrdersSettings


@dg.asset_check(asset=summary, blocking=True, description="rows_read = kept + filtered_out + rejected for every source file, "
                                           "and the quarantine holds exactly the rejected rows.")
def rows_accounted_for(settings: OrdersSettings) -> dg.AssetCheckResult:
    problems = accounting_problems(settings.store())
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none"})


@dg.asset_check(asset=summary, blocking=True, description="The summary's totals equal the sum over the assembled partitions.")
def totals_match_partitions(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    built = read_summary(store.reports)
    reported = built.totals if built is not None else {}
    partitions = partition_totals(store)
    problems = totals_problems(reported, partitions)
    return dg.AssetCheckResult(passed=not problems, metadata={"partitions": str(partitions), "summary": str(reported)})


@dg.asset_check(asset=summary, blocking=True, description="Every report's orders, quantity and value add up to the "
                                                           "summary's totals: no report lost or doubled a row.")
def reports_match_summary(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    built = read_summary(store.reports)
    problems = report_total_problems(store, built.totals) if built is not None else ["summary.json: missing"]
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none"})


@dg.asset_check(asset=summary, blocking=True, description="Every report has the contract's columns in order, with unique and "
                                           "sorted keys; every partition file has the order set's columns.")
def outputs_match_contract(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    problems = report_problems(store, store.size_edges)
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none"})


@dg.asset_check(asset=summary, blocking=True, description="The rows the ingests kept are exactly the rows in the partitions, "
                                           "with those the overlap rule superseded or deduplicated: nothing lost, "
                                           "nothing counted twice.")
def kept_rows_in_partitions(settings: OrdersSettings) -> dg.AssetCheckResult:
    problems = partition_problems(settings.store())
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems[:50]) or "none",
                                                              "problem_count": len(problems)})


@dg.asset_check(asset=summary, description="No kept row is counted twice because another current file has it too "
                                           "(warns under the union rule, or fails with overlap duplicates: error; "
                                           "choose latest_per_date or dedup).")
def no_rows_counted_twice(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    built = read_summary(store.reports)
    pairs = built.rows_duplicated_across_files if built is not None else ()
    counted_twice = built.rows_counted_more_than_once if built is not None else 0
    rule = store.overlap
    severity = dg.AssetCheckSeverity.ERROR if rule.duplicates == DUPLICATES_ERROR else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        passed=counted_twice == 0, severity=severity,
        description=overlap_advice(counted_twice, pairs) if counted_twice else None,
        metadata={"overlap": rule.text, "rows_counted_more_than_once": counted_twice,
                  "rows_duplicated_across_files": dg.MetadataValue.md(pairs_table(pairs))})


def overlap_advice(counted_twice: int, pairs) -> str:
    first = pairs[0]
    return (f"{counted_twice:,} kept rows are also in an earlier file and counted again, e.g. {first.second_file} "
            f"line {first.first_line_in_second} equals {first.first_file} line {first.first_line_in_first}: "
            f"{COUNTED_TWICE_FIX}")


@dg.asset_check(asset=summary, description="No source file has its rejected rows at or above the rejected_rows "
                                           "threshold (default 1% of its rows): a file in a format the run does "
                                           "not read right (warns, or fails with rejected_rows: {severity: error}).")
def rejected_rows_below_threshold(settings: OrdersSettings) -> dg.AssetCheckResult:
    store = settings.store()
    built = read_summary(store.reports)
    findings = rejected_shares(built) if built is not None else []
    rule = store.rejected_rule
    rows = [(finding.file.source_file, f"{finding.file.rows_read:,}", f"{finding.file.rows_rejected:,}",
             f"{finding.share:.2%}", finding.file.main_rejection or "", finding.file.quarantine or "")
            for finding in findings[:50]]
    table = markdown_table(("file", "rows read", "rejected", "share", "main reason", "quarantine"), rows,
                           right_aligned=("rows read", "rejected", "share"))
    return dg.AssetCheckResult(
        passed=not findings, severity=dg.AssetCheckSeverity.ERROR if rule.severity == ERROR else dg.AssetCheckSeverity.WARN,
        description=rejected_headline(built, findings) if findings else None,
        metadata={"rule": rule.text, "files_past_threshold": len(findings),
                  "files": dg.MetadataValue.md(table if findings else "none")})


@dg.asset_check(asset=summary, description="Every value the filter names (order_types, participants) matches a row "
                                           "of a current file: a value that matches none is most often a typo, "
                                           "and the reports are then empty or short without any error.")
def filter_values_match_rows(settings: OrdersSettings) -> dg.AssetCheckResult:
    built = read_summary(settings.store().reports)
    unmatched = unmatched_filter_values(built) if built is not None else []
    return dg.AssetCheckResult(passed=not unmatched, severity=dg.AssetCheckSeverity.WARN,
                               description="\n".join(finding.message for finding in unmatched) or None,
                               metadata={"unmatched": len(unmatched), **filter_values_tables(built)})


def filter_values_tables(built) -> dict:
    """The filter's values with their rows, and each filtered column's values seen (the first 100),
    as markdown tables for the check's page in the UI."""
    counts = (built.filter_value_rows or {}) if built is not None else {}
    rows = [(column, value, f"{count:,}") for column, values in counts.items() for value, count in values.items()]
    tables = {"filter_values": dg.MetadataValue.md(
        markdown_table(("column", "value", "rows"), rows, right_aligned=("rows",)) if rows else "none")}
    for column, values in ((built.values_seen or {}) if built is not None else {}).items():
        if values:
            tables[f"{column}_seen"] = dg.MetadataValue.md(markdown_table((column,), [(value,) for value in values[:100]]))
    return tables
