"""Reports declared in the config file: computed over the filtered order set as an independent
computation over the source files gives them, shown as assets in the UI's reports group and on the
page, rebuilt alone (no file read) when a declaration changes, and refused before any run when one
cannot work."""
from collections import defaultdict
from decimal import Decimal

import dagster as dg
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from orders_assets.cli.main import main
from orders_assets.core.generate import ORDER_TYPES, generate_orders
from orders_assets.glue.definitions import build_definitions
from orders_assets.glue.resources import OrdersSettings
from orders_assets_tests.conftest import tree_hashes
from orders_assets_tests.support.reference import _size_bucket, reference_reports, size_bucket_labels

EDGES = [10_000, 50_000, 200_000, 1_000_000]
DECLARED = """\
filter:
  order_types: all
reports:
  - name: by_side_and_type
    keys: [side, order_type]
    description: Orders per side and order type, Centre Point and the lit book alike.
  - {name: by_participant_security, keys: [participant_id, security_code]}
  - {name: by_date_hour_bucket, keys: [trade_date, hour, size_bucket]}
  - {name: by_event_and_side, keys: [event, side]}
"""


def independent(kept, keys: list[str]) -> dict[tuple, tuple[int, int, Decimal]]:
    """orders, quantity and exact value per key over the reference's kept rows (parsed from the CSV by
    the reference's own reader, not the product's)."""
    labels = size_bucket_labels(EDGES)
    sums: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0)])
    for row in kept:
        derived = {"size_bucket": _size_bucket(row.value, EDGES, labels), "trade_date": row.trade_date.isoformat()}
        key = tuple(derived.get(name, getattr(row, name, None)) for name in keys)
        sums[key][0] += 1
        sums[key][1] += row.quantity
        sums[key][2] += row.value
    return {key: tuple(value) for key, value in sums.items()}


def product(data, name: str, keys: list[str]) -> dict[tuple, tuple[int, int, Decimal]]:
    """The report's rows as written to its CSV (exact values as text)."""
    table = pacsv.read_csv(data / "reports" / f"{name}.csv",
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=False,
                                                                column_types={"value": "string", "trade_date": "string"}))
    return {tuple(row[key] for key in keys): (row["orders"], row["quantity"], Decimal(row["value"]))
            for row in table.to_pylist()}


@pytest.fixture(scope="module")
def declared(tmp_path_factory):
    root = tmp_path_factory.mktemp("declared")
    landing, data = root / "landing", root / "data"
    generate_orders(landing / "a.csv", rows=12_000, days=2, securities=4, seed=61, bad_rows=0.002)
    generate_orders(landing / "b.csv.gz", rows=3_000, days=1, securities=3, seed=62)
    config = root / "declared.yaml"
    config.write_text(DECLARED)
    return root, landing, data, config


def test_declared_reports_equal_an_independent_computation_over_the_source_files(declared, capsys, monkeypatch):
    root, landing, data, config = declared
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(config)]) == 0
    capsys.readouterr()
    reference = reference_reports(sorted(landing.iterdir()), order_types=ORDER_TYPES)
    for name, keys in (("by_side_and_type", ["side", "order_type"]),
                       ("by_participant_security", ["participant_id", "security_code"]),
                       ("by_date_hour_bucket", ["trade_date", "hour", "size_bucket"]),
                       ("by_event_and_side", ["event", "side"])):  # event: a column the files keep beside the contract's
        expected = independent(reference.kept, keys)
        assert len(expected) > 4, name  # groups enough to show something
        assert product(data, name, keys) == expected, name
        table = pq.read_table(data / "reports" / f"{name}.parquet")
        assert table.column_names == [*keys, "orders", "quantity", "value", "avg_quantity", "avg_value"]
        assert str(table.schema.field("value").type) == "decimal128(38, 4)"  # money exact, as in the contract's
    assert sum(orders for orders, _, _ in independent(reference.kept, ["side"]).values()) == reference.rows_kept
    page = (data / "reports" / "index.html").read_text()
    assert "<h2>Your reports</h2>" in page and "Orders per side and order type, Centre Point and the lit book alike." in page
    assert 'href="by_participant_security.csv"' in page


def test_the_declared_reports_are_assets_of_the_reports_group_with_their_descriptions(declared, monkeypatch):
    root, landing, data, config = declared
    from orders_assets.glue.config_file import load_settings_overrides

    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(data), **load_settings_overrides(config))
    graph = build_definitions(settings).resolve_asset_graph()
    for name in ("by_side_and_type", "by_participant_security", "by_date_hour_bucket", "by_security"):
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == "reports", name
    described = graph.get(dg.AssetKey("by_side_and_type")).description
    assert described == "Orders per side and order type, Centre Point and the lit book alike."


def test_a_changed_declaration_rebuilds_the_reports_alone_and_nothing_else(declared, capsys, monkeypatch):
    root, landing, data, config = declared
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    before = tree_hashes(data, skip=("dagster_home", "reports", "state"))
    changed = root / "changed.yaml"
    changed.write_text(DECLARED + "  - {name: by_side, keys: [side]}\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(changed)]) == 0
    printed = capsys.readouterr().out
    assert "the reports are rebuilt from the order sets (no file is read)" in printed
    assert "ok     build_reports" in printed and "ingest_order_files" not in printed and "assemble" not in printed
    assert tree_hashes(data, skip=("dagster_home", "reports", "state")) == before  # no order set touched
    assert (data / "reports" / "by_side.csv").is_file()
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0  # remembered: nothing new
    assert "no run launched" in capsys.readouterr().out


def test_a_declaration_that_cannot_work_is_refused_before_any_run_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "a.csv", rows=500, days=1, securities=2, seed=63)
    bad = tmp_path / "bad.yaml"
    bad.write_text("reports:\n  - {name: by_order, keys: [order_id]}\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(bad)]) == 2
    said = capsys.readouterr()
    assert said.err.count("\n") == 1 and "reports[0] (by_order): key 'order_id'" in said.err, said.err
    assert str(bad) in said.err and "about one row per order" in said.err
    assert not (data / "reports").exists() and not (data / "orders").exists()  # refused before any run


def test_a_declared_key_no_file_keeps_fails_the_reports_in_one_line_naming_the_columns_they_keep(declared, capsys,
                                                                                                  monkeypatch):
    root, landing, data = declared[0], declared[1], declared[2]
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    venue = root / "venue.yaml"
    venue.write_text(DECLARED + "  - {name: by_venue, keys: [venue]}\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(venue)]) == 1
    printed = capsys.readouterr()
    said = printed.out + printed.err
    assert "report(s) by_venue: no published file holds the column(s) venue; the files keep beside the contract's " \
           "columns: event, source_file" in said, said
    assert said.count("no published file holds") == 1 and "Traceback" not in said
