"""orders-assets generate | run | ui | materialize | profile: the command line of the project (contract section 5)."""
import argparse
import sys
import time
from datetime import date
from pathlib import Path

from orders_assets.core.errors import AccountingError, OrdersAssetsError

CONFIG_KEYS = ("filter", "timezone", "size_edges", "layouts", "quantity_decimals", "output_url", "piece_bytes", "overlap",
               "rejected_rows", "reports", "reader", "machine")
"""The config file's top-level keys, as config_file.SECTIONS and TOP_LEVEL read them (a test keeps them
equal; not imported from there so that `--help` loads no YAML or Arrow)."""


def build_parser() -> argparse.ArgumentParser:
    """The command line: every command and option with its help text."""
    parser = argparse.ArgumentParser(prog="orders-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a synthetic order file (deterministic for a seed)")
    generate.add_argument("--rows", type=int, required=True, help="order events in all, split evenly over the days")
    generate.add_argument("--days", type=int, default=5, help="trading days (weekdays) from --start-date (default 5)")
    generate.add_argument("--securities", type=int, default=20, help="distinct security codes (default 20)")
    generate.add_argument("--participants", type=int, default=100, help="distinct participant ids (default 100)")
    generate.add_argument("--seed", type=int, default=0, help="the same seed writes the same file (default 0)")
    generate.add_argument("--bad-rows", type=float, default=0.0,
                          help="fraction of malformed rows to inject, 0 to 0.5 (CSV only; default 0)")
    generate.add_argument("--start-date", type=date.fromisoformat, default=date(2025, 3, 3),
                          help="first trading day, YYYY-MM-DD (default 2025-03-03); a weekend moves to Monday")
    generate.add_argument("--out", type=Path, required=True, help=".csv, .csv.gz, .csv.zst or .parquet")

    run = commands.add_parser("run", help="ingest the landing folder and materialize every partition and report")
    run.add_argument("--landing", type=Path, required=True, help="folder of the order files to read (only read)")
    run.add_argument("--data", type=Path, required=True,
                     help="folder of everything written: staged rows, order sets, reports, quarantine, instance")
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
    ui.add_argument("--landing", type=Path, required=True, help="landing folder, as for run (the sensor watches it)")
    ui.add_argument("--data", type=Path, required=True, help="data folder, as for run")
    ui.add_argument("--config", type=Path, default=None, help="YAML settings, as for run --config")
    ui.add_argument("--port", type=int, default=3000, help="the webserver's port (default 3000)")

    materialize = commands.add_parser("materialize", help="dagster asset materialize over the folders of run: one "
                                                          "partition, or the reports")
    materialize.add_argument("--landing", type=Path, required=True, help="landing folder, as for run")
    materialize.add_argument("--data", type=Path, required=True, help="data folder, as for run")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
    from orders_assets.cli.run_command import run_command

    try:
        with watch_signals() as watch:
            return run_command(args, watch.checkpoint)
    except Interrupted as stop:
        print(f"stopped by {stop}: no further run was launched; what was written is whole (every output is "
              "written atomically). Run the same command again to finish.", file=sys.stderr)
        return stop.exit_status


def _ui(args: argparse.Namespace) -> int:
    from orders_assets.cli.run_command import settings_source
    from orders_assets.cli.ui import serve_ui

    config, source = settings_source(args.config, args.data)
    print(f"settings: {source}")
    return serve_ui(args.landing, args.data, config, args.port)


def _materialize(args: argparse.Namespace) -> int:
    from orders_assets.cli.materialize import materialize
    from orders_assets.cli.run_command import settings_source

    config, source = settings_source(args.config, args.data)
    print(f"settings: {source}")
    return materialize(args.landing, args.data, config, args.select, args.partition)


def _profile(args: argparse.Namespace) -> int:
    import json

    from orders_assets.glue.config_file import load_settings_overrides, save_settings, settings_document
    from orders_assets.core.plan.settings import Settings

    try:
        settings = Settings(landing_dir=".", data_dir=str(args.data.resolve()),
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


if __name__ == "__main__":
    sys.exit(main())
