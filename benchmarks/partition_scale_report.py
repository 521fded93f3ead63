"""The partition-scale figures as markdown: one column per shape, then issue 17's targets as ratios.

A step that failed shows as `failed` (its error is in the JSON); a figure that could not be
computed shows as `-`.
"""
import re

MIB = 2**20
STORAGE_NAMES = {"sqlite": ", SQLite", "postgres": ", PostgreSQL"}
"""How a column names the instance's storage (figures of earlier runs have none)."""


def job_split(jobs: dict) -> dict:
    """The runs of `orders-assets run` by stage, from the job names: ingest, partition (the rest), reports."""
    stages: dict = {}
    for name, job in jobs.items():
        stage = "ingest" if "ingest" in name else "reports" if "report" in name else "partition"
        total = stages.setdefault(stage, {"seconds": 0.0, "engine": 0.0, "dagster": 0.0, "partitions": 0, "runs": 0})
        for field in total:
            total[field] += job[field]
    return stages


def figure(shape: dict, *path, scale: float = 1.0):
    """shape[path...] / scale, None when the step failed or the figure is missing."""
    value = shape
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value is None else value / scale


def failed(shape: dict, name: str) -> bool:
    return "error" in shape.get(name, {})


def cell(shape: dict, name: str, text) -> str:
    if failed(shape, name):
        return "failed"
    return "-" if text is None else text


def stage_text(stage: dict | None, per_partition: bool = False) -> str | None:
    if stage is None:
        return None
    text = f"{stage['seconds']:.1f} s (engine {stage['engine']:.1f}, Dagster {stage['dagster']:.1f}"
    if per_partition and stage["partitions"]:
        text += f" = {1000 * stage['dagster'] / stage['partitions']:.2f} ms a partition"
    runs = f"; {stage['runs']} runs" if stage["runs"] > 1 else ""
    return text + runs + ")"


def optional(value, form: str) -> str | None:
    return None if value is None else form.format(value)


def shape_rows(shape: dict, base: dict) -> list[tuple[str, str]]:
    stages = job_split(shape["run"]["jobs"]) if "jobs" in shape.get("run", {}) else {}
    wall, base_wall = figure(shape, "run", "seconds"), figure(base, "run", "seconds")
    ratio = f" ({wall / base_wall:.1f}x)" if wall and base_wall and shape is not base else ""
    orders = shape.get("run", {}).get("orders")
    status = shape.get("ui_status", {})
    return [
        ("source", optional(figure(shape, "source_bytes", scale=1e6), "{:,.0f} MB")),
        ("wall of `orders-assets run`", cell(shape, "run", optional(wall, "{:.1f} s") and f"{wall:.1f} s{ratio}")),
        ("ingest run", cell(shape, "run", stage_text(stages.get("ingest")))),
        ("partition run", cell(shape, "run", stage_text(stages.get("partition"), per_partition=True))),
        ("reports run", cell(shape, "run", stage_text(stages.get("reports")))),
        ("peak RSS", cell(shape, "run", optional(figure(shape, "run", "peak_rss", scale=MIB), "{:,.0f} MiB"))),
        ("files written under orders/", cell(shape, "run", orders and f"{orders['files']:,} ({orders['bytes'] / 1e6:,.0f} MB)")),
        ("Dagster instance after one run", cell(shape, "run", optional(
            figure(shape, "instance_database_bytes", scale=1e6) or figure(shape, "run", "instance", "bytes", scale=1e6),
            "{:,.0f} MB"))),
        ("`dagster asset materialize` of one key", cell(shape, "one_key", optional(figure(shape, "one_key", "seconds"),
                                                                                    "{:.1f} s"))),
        ("`dagster asset materialize` of group:reports", cell(shape, "reports", optional(figure(shape, "reports", "seconds"),
                                                                                          "{:.1f} s"))),
        ("UI partition status of filtered_orders, cold / warm", cell(shape, "ui_status", status.get("cold_seconds") and
                                                                     f"{status['cold_seconds']:.2f} s / {status['warm_seconds']:.2f} s")),
        ("keys the UI shows materialized", cell(shape, "ui_status", optional(status.get("materialized"), "{:,}"))),
    ]


def figures_table(results: list[dict]) -> str:
    header = "| | " + " | ".join(f"{r['days']} days x {r['securities']} securities ({r['keys']:,} partitions)"
                                 f"{STORAGE_NAMES.get(r.get('storage'), '')}" for r in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    firsts = {}
    for shape in results:
        firsts.setdefault(shape.get("storage"), shape)
    columns = [shape_rows(shape, firsts[shape.get("storage")]) for shape in results]
    for index, (label, _) in enumerate(columns[0]):
        lines.append(f"| {label} | " + " | ".join(column[index][1] or "-" for column in columns) + " |")
    return "\n".join(lines)


def ratio(numerator, denominator):
    if isinstance(numerator, str) or isinstance(denominator, str):
        return "failed"
    return None if numerator is None or not denominator else numerator / denominator


def dagster_ms_per_partition(shape: dict | None):
    if not shape or "jobs" not in shape.get("run", {}):
        return None
    stage = job_split(shape["run"]["jobs"]).get("partition")
    return 1000 * stage["dagster"] / stage["partitions"] if stage and stage["partitions"] else None


def reports_dagster(shape: dict | None):
    if not shape or "jobs" not in shape.get("run", {}):
        return None
    stage = job_split(shape["run"]["jobs"]).get("reports")
    return stage and stage["dagster"]


def targets_table(results: list[dict]) -> str:
    by_keys = {shape["keys"]: shape for shape in results}
    small, year, two_years = by_keys.get(4_000), by_keys.get(75_000), by_keys.get(150_000)

    def get(shape, *path):
        if shape and failed(shape, path[0]):
            return "failed"
        return figure(shape, *path) if shape else None

    reports_growth = ratio(reports_dagster(year), reports_dagster(small))
    rows = [
        ("wall(75,000) / wall(4,000)", ratio(get(year, "run", "seconds"), get(small, "run", "seconds")), 1.5, "{:.2f}"),
        ("peak RSS(75,000) / peak RSS(4,000)", ratio(get(year, "run", "peak_rss"), get(small, "run", "peak_rss")), 1.15,
         "{:.2f}"),
        ("Dagster ms a partition, 75,000-key partition run", dagster_ms_per_partition(year), 0.25, "{:.2f}"),
        ("reports run's Dagster s, 75,000 / 4,000 (does not grow: taken as <= 1.5)", reports_growth, 1.5, "{:.2f}"),
        ("one key via `dagster asset materialize` at 75,000, s", get(year, "one_key", "seconds"), 5.0, "{:.1f}"),
        ("`group:reports` via `dagster asset materialize` at 75,000, s", get(year, "reports", "seconds"), 10.0, "{:.1f}"),
        ("UI partition status at 150,000, cold, s", get(two_years, "ui_status", "cold_seconds"), 5.0, "{:.2f}"),
        ("UI partition status at 150,000, warm, s", get(two_years, "ui_status", "warm_seconds"), 5.0, "{:.2f}"),
    ]
    lines = ["| target | measured | limit | met |", "|---|---:|---:|:---:|"]
    for label, value, limit, form in rows:
        if value is None or isinstance(value, str):
            met, shown = "-", value or "-"
        else:
            met, shown = "yes" if value <= limit else "no", form.format(value)
        lines.append(f"| {label} | {shown} | <= {limit:g} | {met} |")
    completed = two_years is not None and "seconds" in two_years.get("run", {})
    lines.append(f"| 150,000 keys: the run completes | {'yes' if completed else 'no'} | | "
                 f"{'yes' if completed else 'no'} |")
    reports_each = " / ".join("-" if reports_dagster(s) is None else f"{reports_dagster(s):.1f}"
                              for s in (small, year, two_years))
    lines.append(f"| reports run's Dagster s at 4,000 / 75,000 / 150,000 | {reports_each} | | |")
    return "\n".join(lines)


ERROR_LINE = re.compile(r"^(?:[\w.]+(?:Error|Exception|Failed)\b|Error:|\S+ (?:timed out|exited with))")


def error_summary(error: str) -> str:
    """The line of a step's output that names its failure (the last exception), else its last line."""
    lines = [line.strip() for line in error.strip().splitlines()
             if line.strip() and not line.startswith("PEAK_RSS_KIB")]
    named = [line for line in lines if ERROR_LINE.match(line) and line != "Error: Materialization failed."]
    return ((named or lines or ["?"])[-1])[:300]


def markdown(results: list[dict]) -> str:
    rows = results[0]["rows"] if results else 0
    failures = [f"- {r['keys']:,} partitions, {name}: {error_summary(step['error'])}"
                for r in results for name, step in r.items() if isinstance(step, dict) and "error" in step]
    parts = [f"Partition scale: the same {rows:,} generated rows at each shape (fresh data folder and instance each).",
             "", figures_table(results)]
    for storage in dict.fromkeys(shape.get("storage") for shape in results):
        same = [shape for shape in results if shape.get("storage") == storage]
        parts += ["", f"Targets{STORAGE_NAMES.get(storage, '')}:", "", targets_table(same)]
    if failures:
        parts += ["", "Failed steps:", *failures]
    return "\n".join(parts) + "\n"
