"""`orders-assets run` as the terminal shows it: the settings in force and what changed, the plan
("nothing new" without starting Dagster), the runs' outcome, what needs attention, the exit status.
The runs themselves are cli/runner.py's; the arguments are parsed in cli/main.py."""
import argparse
import os
import sys
import time
from pathlib import Path

DAGSTER_HOME_ENV = "DAGSTER_HOME"


def settings_source(config: Path | None, data: Path) -> tuple[Path | None, str]:
    """The config file a command reads and how to name where its settings come from: --config, else
    the settings the data folder remembers from its last run (config_file.FOLDER_CONFIG), else the
    contract's defaults."""
    from orders_assets.glue.config_file import settings_file

    found = settings_file(config, data)
    if found is None:
        return None, "the defaults (no --config)"
    if config is not None:
        return config, str(config)
    return found, f"the data folder's, from its last run ({found}; --config FILE changes them)"


def run_command(args: argparse.Namespace, checkpoint) -> int:
    """`orders-assets run`: plan, say "nothing new" without starting Dagster, or carry out the runs
    and print what they did; its exit status."""
    from orders_assets.glue.config_file import load_settings_overrides, remember_settings
    from orders_assets.core.read.layout.model import rules_reading_no_file
    from orders_assets.core.plan.work import plan_work
    from orders_assets.core.read.sources import scan_landing
    from orders_assets.core.store.atomic import remove_orphan_temporaries
    from orders_assets.core.store.disk import data_folder_problem
    from orders_assets.core.store.folders import folders_problem
    from orders_assets.core.plan.settings import Settings

    started = time.perf_counter()
    config, source = settings_source(args.config, args.data)
    try:
        settings = Settings(landing_dir=str(args.landing.resolve()), data_dir=str(args.data.resolve()),
                                  **load_settings_overrides(config))
        settings.validate()
        rules = settings.ingest_rules()
    except ValueError as error:  # pydantic's, for a setting of the wrong type; ours are OrdersAssetsErrors
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.landing.is_dir():
        print(f"error: landing folder {args.landing} does not exist", file=sys.stderr)
        return 2
    problem = folders_problem(args.landing, args.data, settings.output_url) or data_folder_problem(args.data)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    _require_dask_if_asked(args)
    remove_orphan_temporaries(args.data)
    store = settings.store()
    scan = scan_landing(args.landing)  # once: the warnings, the plan and the runs all use this listing
    for message in rules_reading_no_file(rules.layouts, [source.key for source in scan.sources]):
        print(f"warning: {message}")
    _print_changes(settings, source)
    with settings.lease():  # the data folder under these settings until the command ends (refused beside others)
        remember_settings(args.data, settings.model_dump())
        work = plan_work(args.landing, store, rules.fingerprint_for, rules.layouts.name_fields, args.rehash, scan)
        if work.nothing_to_do:
            _print_skipped(store)
            failing = _print_attention(store)
            print(filter_line(settings, source))
            print(f"nothing new in {args.landing}: no run launched ({time.perf_counter() - started:.2f} s)")
            return _exit_status(not failing, store)
        checkpoint()
        status = _run_through_dagster(args, settings, started, checkpoint, work)
        print(filter_line(settings, source))
        return status


def _print_changes(settings, source: str) -> None:
    """Before any work: what differs from the settings the data folder was last under, and what
    the run will redo for it."""
    from orders_assets.glue.config_file import changed_settings
    from orders_assets.core.store.settings_lease import recorded_settings

    recorded = recorded_settings(settings.store().state)
    if recorded is None:
        return
    changes = changed_settings(settings.folder_settings(), recorded)
    if changes:
        print(f"settings changed since the last run on {settings.data_dir} (now {source}):")
        for change in changes:
            print(f"       {change}")


def filter_line(settings, source: str) -> str:
    """The filter in force, as the last line but one of every run says it, and where it came from."""
    rule = settings.order_filter()
    types = ", ".join(rule.order_types) if rule.order_types else "every type"
    participants = ", ".join(rule.participants) if rule.participants else "every participant"
    return (f"filter: order types {types}; {rule.session_start} <= local time < {rule.session_end} "
            f"({rule.timezone}); participants: {participants}; settings: {source}")


def _require_dask_if_asked(args: argparse.Namespace) -> None:
    """A scheduler given (--dask or the environment) whose packages are missing is refused before any work."""
    from orders_assets.platform.dask_scheduler import DASK_SCHEDULER_ENV, dask_scheduler_from, require_dask

    if args.dask:
        require_dask(f"--dask {args.dask}")
    elif dask_scheduler_from(os.environ):
        require_dask(f"{DASK_SCHEDULER_ENV}={dask_scheduler_from(os.environ)}")


def _print_skipped(store) -> None:
    """Every file not read or not counted, with the reason (those gone since the plan too); the
    refused ones last, with what to do."""
    refused = store.refused()
    gone = [{"source_file": key, "reason": reason} for key, reason in store.skipped().gone.items()]
    entries = store.skipped_list() + gone
    for entry in sorted(entries, key=lambda entry: entry["source_file"] in refused):
        label = "REFUSED" if entry["source_file"] in refused else "skipped"
        print(f"{label} {entry['source_file']}: {entry['reason']}")
    if refused:
        print(f"{len(refused)} file(s) refused: mend or remove them and run again (an unchanged refused file is "
              "not retried; `run --rehash` retries it)")


def _print_attention(store) -> bool:
    """The reports' findings again on a run with nothing new, so a file past the rejected threshold
    is not said once and then forgotten; True when one fails the run."""
    from orders_assets.core.report.summary import read_summary

    summary = read_summary(store.reports)
    return summary is not None and _print_findings(summary)


def _print_findings(summary) -> bool:
    """What in the summary needs attention (core/report/attention.py), a line each; True when a
    finding fails the command (attention.fails_the_run)."""
    from orders_assets.core.report.attention import attention_lines, fails_the_run

    for line in attention_lines(summary):
        print(line)
    return fails_the_run(summary)


def _exit_status(runs_succeeded: bool, store) -> int:
    """0 when every run succeeded and every file of the landing folder was read (contract section 5)."""
    return 0 if runs_succeeded and not store.refused() else 1


def _run_through_dagster(args: argparse.Namespace, settings, started: float, checkpoint, work) -> int:
    from orders_assets.glue.config_file import save_settings, settings_document
    from orders_assets.platform.dask_scheduler import dask_scheduler_from
    from orders_assets.platform.instance import ensure_instance_folder, open_instance, use_batched_events
    from orders_assets.cli.runner import run_pipeline
    from orders_assets.cli.terminal import ProgressBar
    from orders_assets.glue.resources import OrdersSettings

    settings = OrdersSettings.of(settings)  # the plan's settings as Dagster's resource, for the runs
    tuning = settings.tuning()
    args.data.mkdir(parents=True, exist_ok=True)
    home = Path(os.environ.setdefault(DAGSTER_HOME_ENV, str((args.data / "dagster_home").resolve())))
    ensure_instance_folder(home)
    use_batched_events()
    save_settings(settings.store().root / "state" / "effective_config.yaml",
                  settings_document(settings.model_dump(), tuning.as_dict()))
    with open_instance(home) as instance, ProgressBar(settings.store().state):
        outcome = run_pipeline(settings, instance, log_level=args.log_level,
                               dask_scheduler=args.dask or dask_scheduler_from(os.environ), rehash=args.rehash,
                               checkpoint=checkpoint, planned=work)
    failing = _print_outcome(outcome, settings, time.perf_counter() - started, home)
    _print_skipped(settings.store())
    return 0 if outcome.success and not failing else 1


def _run_timing(run) -> str:
    """Where a run's time went: the engine's work and Dagster's bookkeeping (per partition when partitioned)."""
    text = f"{run.seconds:.1f} s: engine {run.engine_seconds:.1f} s, Dagster {run.dagster_seconds:.1f} s"
    if run.partitions:
        plural = "" if run.partitions == 1 else "s"
        text += f" for {run.partitions:,} partition{plural} ({1000 * run.dagster_seconds / run.partitions:.1f} ms each)"
    return text


def _print_outcome(outcome, settings, seconds: float, home: Path) -> bool:
    """Prints what the runs did and what needs attention; True when a finding fails the command
    (attention.fails_the_run)."""
    from orders_assets.core.report.summary import read_summary

    if outcome.did_nothing:
        print(f"nothing new in {settings.landing_dir}: no run launched ({seconds:.2f} s)")
        return False
    for run in outcome.runs:
        print(f"{'ok    ' if run.success else 'FAILED'} {run.job} {run.partition_range}".rstrip())
        print(f"       {_run_timing(run)}")
        for failure in run.failures:
            print(f"       {failure}")
    if outcome.status_seconds is not None:
        print(f"ok     UI partition status of filtered_orders brought up to date in {outcome.status_seconds:.1f} s")
    reports_dir = settings.store().reports
    summary = read_summary(reports_dir)
    if summary is not None:
        print(
            f"{summary.source_files} files: {summary.rows_read:,} rows read = {summary.rows_kept:,} kept "
            f"+ {summary.rows_filtered_out:,} filtered out + {summary.rows_rejected:,} rejected; "
            f"{summary.partitions:,} partitions; value {summary.value:f}"
        )
        print(f"       read by the compiled pass: {summary.rows_read_compiled:,} rows; by the exact path: "
              f"{summary.rows_read_exact:,}" + exact_files(summary))
        if summary.rows_rounded:
            print(f"       rounded by their layout's rounding: {summary.rows_rounded:,} rows" + rounded_files(summary))
        for line in overlap_lines(summary):
            print(line)
    failing = summary is not None and _print_findings(summary)
    print(f"reports in {reports_dir}; Dagster instance {home}; {seconds:.1f} s")
    return failing


def rounded_files(summary) -> str:
    """The files whose layout rounded a price or quantity written through a float, with how many rows."""
    return files_counting(summary, "rows_rounded")


def exact_files(summary, shown: int = 5) -> str:
    """The files the exact path read rows of, with how many: the compiled pass could not judge them
    (vendor layouts, Parquet, rows with quotes inside a field, offsets, bytes that are not UTF-8)."""
    return files_counting(summary, "rows_read_exact", shown)


def files_counting(summary, count: str, shown: int = 5) -> str:
    """' (file rows, ...)' of the files whose `count` (a FileSummary field) is not 0; '' when none is."""
    files = [entry for entry in summary.files if getattr(entry, count)]
    if not files:
        return ""
    named = ", ".join(f"{entry.source_file} {getattr(entry, count):,}" for entry in files[:shown])
    return f" ({named}{f', and {len(files) - shown} more files' if len(files) > shown else ''})"


def overlap_lines(summary) -> list[str]:
    """What the run says of rows that more than one current file has: the rule's effect, each pair of
    files (first lines), and the warning when rows are counted twice."""
    if not summary.rows_duplicated_across_files and not (summary.rows_superseded or summary.rows_deduplicated):
        return []
    from orders_assets.core.store.overlap_rule import COUNTED_TWICE_FIX

    rule = (summary.overlap or {}).get("rule", "union")
    lines = [f"overlap ({rule}): {summary.rows_kept:,} kept = {summary.rows_in_partitions:,} in the partitions + "
             f"{summary.rows_superseded:,} superseded + {summary.rows_deduplicated:,} deduplicated"]
    for pair in summary.rows_duplicated_across_files[:10]:
        lines.append(f"       {pair.rows:,} rows of {pair.second_file} (from line {pair.first_line_in_second}) equal rows "
                     f"of {pair.first_file} (from line {pair.first_line_in_first}) in {pair.partitions:,} partitions")
    if len(summary.rows_duplicated_across_files) > 10:
        lines.append(f"       ... {len(summary.rows_duplicated_across_files) - 10} more pairs in summary.json")
    if summary.rows_counted_more_than_once:
        lines.append(f"warning: {summary.rows_counted_more_than_once:,} rows are counted twice (overlap: union); "
                     f"{COUNTED_TWICE_FIX}")
    return lines

