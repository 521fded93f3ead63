"""orders-assets generate | run | ui | materialize | profile: the command line of the project (contract section 5)."""
import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from orders_assets.core.errors import AccountingError, OrdersAssetsError

DAGSTER_HOME_ENV = "DAGSTER_HOME"
CONFIG_KEYS = ("filter", "timezone", "size_edges", "layouts", "quantity_decimals", "output_url", "piece_bytes", "overlap",
               "rejected_rows", "reports", "reader", "machine")
"""The config file's top-level keys, as config_file.SECTIONS and TOP_LEVEL read them (a test keeps them
equal; not imported from there so that `--help` loads no YAML or Arrow)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orders-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a synthetic order file (deterministic for a seed)")
    generate.add_argument("--rows", type=int, required=True)
    generate.add_argument("--days", type=int, default=5)
    generate.add_argument("--securities", type=int, default=20)
    generate.add_argument("--participants", type=int, default=100)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--bad-rows", type=float, default=0.0, help="fraction of malformed rows to inject")
    generate.add_argument("--start-date", type=date.fromisoformat, default=date(2025, 3, 3))
    generate.add_argument("--out", type=Path, required=True, help=".csv, .csv.gz, .csv.zst or .parquet")

    run = commands.add_parser("run", help="ingest the landing folder and materialize every partition and report")
    run.add_argument("--landing", type=Path, required=True)
    run.add_argument("--data", type=Path, required=True)
    run.add_argument("--config", type=Path, default=None, help=f"YAML settings: {', '.join(CONFIG_KEYS)} "
                                                                 "(docs/configuration.md)")
    run.add_argument("--dask", metavar="ADDRESS", default=None,
                     help="run the steps on the Dask cluster of this scheduler (tcp://host:8786), one piece of "
                          "each stage per worker (default: $ORDERS_ASSETS_DASK_SCHEDULER; unset: this machine)")
    run.add_argument("--rehash", action="store_true",
                     help="compare every file's content with what was ingested, whatever its name, size and "
                          "time (a file corrected in place with its old size and time), retry refused files, and read "
                          "again the files an earlier release read without the market's totals (market_share)")
    run.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                     help="level of Dagster's run logs on the terminal (all events are stored in the instance)")

    ui = commands.add_parser("ui", help="the Dagster UI (webserver and daemon) on 127.0.0.1 over the folders of run")
    ui.add_argument("--landing", type=Path, required=True)
    ui.add_argument("--data", type=Path, required=True)
    ui.add_argument("--config", type=Path, default=None, help="YAML settings, as for run --config")
    ui.add_argument("--port", type=int, default=3000, help="the webserver's port (default 3000)")

    materialize = commands.add_parser("materialize", help="dagster asset materialize over the folders of run: one "
                                                          "partition, or the reports")
    materialize.add_argument("--landing", type=Path, required=True)
    materialize.add_argument("--data", type=Path, required=True)
    materialize.add_argument("--config", type=Path, default=None,
                             help="YAML settings, as for run --config (default: the data folder's, from its last run)")
    materialize.add_argument("--select", required=True, help="filtered_orders, order_files, or group:reports")
    materialize.add_argument("--partition", default=None,
                             help="the key of a partitioned asset: DATE|SECURITY for filtered_orders (2025-03-03|BHP)")

    profile = commands.add_parser("profile", help="print the detected machine and the settings chosen for it")
    profile.add_argument("--data", type=Path, default=Path("."), help="data folder (its disk's free space counts)")
    profile.add_argument("--config", type=Path, default=None, help="YAML settings; their machine values win")
    profile.add_argument("--json", action="store_true", help="machine-readable output")
    profile.add_argument("--save", type=Path, default=None,
                         help="write the effective settings as a config file that reproduces them exactly")

    args = parser.parse_args(argv)
    command = {"generate": _generate, "profile": _profile, "run": _run_until_stopped, "ui": _ui,
               "materialize": _materialize}[args.command]
    try:
        return command(args)
    except AccountingError:
        raise  # a defect, not the user's input: its traceback is what a bug report needs
    except Exception as error:
        return _said(error, args)


def _said(error: Exception, args: argparse.Namespace) -> int:
    """The exit status of a command stopped by `error`, said in one line: 1 for a disk that filled
    (the work failed; wherever the write was, SQLite's or ours), 2 for the user's input; any other
    error is raised again with its traceback (a bug)."""
    from orders_assets.core.store.disk import DiskFullError, full_disk_cause, full_disk_message

    if isinstance(error, DiskFullError):
        print(f"error: {error}", file=sys.stderr)
        return 1
    cause = full_disk_cause(error)
    if cause is not None:
        data = getattr(args, "data", None) or args.out.parent
        print(f"error: {full_disk_message(data, *cause)}", file=sys.stderr)
        return 1
    if isinstance(error, OrdersAssetsError):
        print(f"error: {error}", file=sys.stderr)  # the message names the file and the fix
        return 2
    raise error


def _run_until_stopped(args: argparse.Namespace) -> int:
    """`run`, stopped by SIGINT or SIGTERM between whole pieces of work, exiting 128 + the signal."""
    from orders_assets.cli.interrupts import Interrupted, watch_signals

    try:
        with watch_signals() as watch:
            return _run(args, watch.checkpoint)
    except Interrupted as stop:
        print(f"stopped by {stop}: no further run was launched; what was written is whole (every output is "
              "written atomically). Run the same command again to finish.", file=sys.stderr)
        return stop.exit_status


def _ui(args: argparse.Namespace) -> int:
    from orders_assets.cli.ui import serve_ui

    config, source = settings_source(args.config, args.data)
    print(f"settings: {source}")
    return serve_ui(args.landing, args.data, config, args.port)


def _materialize(args: argparse.Namespace) -> int:
    from orders_assets.cli.materialize import materialize

    config, source = settings_source(args.config, args.data)
    print(f"settings: {source}")
    return materialize(args.landing, args.data, config, args.select, args.partition)


def _profile(args: argparse.Namespace) -> int:
    import json

    from orders_assets.glue.config_file import load_settings_overrides, save_settings, settings_document
    from orders_assets.glue.resources import OrdersSettings

    try:
        settings = OrdersSettings(landing_dir=".", data_dir=str(args.data.resolve()),
                                  **load_settings_overrides(args.config))
        machine = settings.machine_profile()
        tuning = settings.tuning(machine)
    except ValueError as error:  # pydantic's, for a setting of the wrong type; ours are OrdersAssetsErrors
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.save:
        save_settings(args.save, settings_document(settings.model_dump(), tuning.as_dict()))
    if args.json:
        print(json.dumps({"machine": machine.as_dict(), "tuning": tuning.as_dict(),
                          "step_peak_estimate": tuning.step_peak}, indent=1))
    else:
        print(_profile_text(machine, tuning, chosen="preset" not in settings.tuning_overrides()))
    if args.save:
        print(f"saved to {args.save} (use it with --config to reproduce these settings)", file=sys.stderr)
    return 0


def _profile_text(machine, tuning, chosen: bool) -> str:
    from orders_assets.core.machine.tuning import GiB as gib, MiB as mib
    cgroup = machine.cgroup
    limits = "not in a cgroup" if cgroup.version is None else (
        f"cgroup v{cgroup.version}: CPU limit {cgroup.cpu_limit if cgroup.cpu_limit else 'none'}, memory limit "
        f"{f'{cgroup.memory_limit / gib:.1f} GiB' if cgroup.memory_limit else 'none'}")
    return "\n".join([
        "machine",
        f"  cores            {machine.cores} usable ({machine.host.logical_cores} logical, "
        f"{machine.host.physical_cores} physical)",
        f"  memory           {machine.memory / gib:.1f} GiB usable, {machine.available_memory / gib:.1f} GiB available",
        f"  container        {limits}",
        f"  data disk free   {machine.host.data_dir_free / gib:.1f} GiB",
        f"settings (preset {tuning.preset}{', chosen from the machine' if chosen else ''})",
        f"  workers          {tuning.workers}",
        f"  block_bytes      {tuning.block_bytes // mib} MiB",
        f"  read_ahead       {tuning.read_ahead}",
        f"  stage_bytes      {tuning.stage_bytes // mib} MiB",
        f"  memory_budget    {tuning.memory_budget / gib:.1f} GiB",
        f"  max_concurrent   {tuning.max_concurrent} Dagster step processes",
        f"  file_pieces      {tuning.file_pieces} (a big file in pieces, one step process each)",
        f"  step peak (est.) {tuning.step_peak // mib} MiB",
    ])


def _generate(args: argparse.Namespace) -> int:
    from orders_assets.core.generate import generate_orders

    started = time.perf_counter()
    report = generate_orders(
        args.out, rows=args.rows, days=args.days, securities=args.securities, participants=args.participants,
        seed=args.seed, bad_rows=args.bad_rows, start_date=args.start_date,
    )
    print(f"wrote {report.rows:,} rows ({len(report.bad_lines):,} malformed) over {len(report.trade_dates)} days "
          f"and {len(report.securities)} securities to {report.path} in {time.perf_counter() - started:.1f} s")
    return 0


def _run(args: argparse.Namespace, checkpoint) -> int:
    from orders_assets.glue.config_file import load_settings_overrides, remember_settings
    from orders_assets.core.read.layout.model import rules_reading_no_file
    from orders_assets.core.plan.planner import plan_work
    from orders_assets.core.read.sources import scan_landing
    from orders_assets.core.store.atomic import remove_orphan_temporaries
    from orders_assets.core.store.disk import data_folder_problem
    from orders_assets.core.store.order_store import folders_problem
    from orders_assets.glue.resources import OrdersSettings

    started = time.perf_counter()
    config, source = settings_source(args.config, args.data)
    try:
        settings = OrdersSettings(landing_dir=str(args.landing.resolve()), data_dir=str(args.data.resolve()),
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
    from orders_assets.platform.executors import DASK_SCHEDULER_ENV, dask_scheduler_from, require_dask

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
    from orders_assets.platform.executors import dask_scheduler_from
    from orders_assets.platform.instance import ensure_instance_folder, open_instance, use_batched_events
    from orders_assets.cli.runner import run_pipeline
    from orders_assets.cli.terminal import ProgressBar

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


if __name__ == "__main__":
    sys.exit(main())
