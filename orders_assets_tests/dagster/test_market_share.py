"""market_share: the filtered set's share of the market per (trade date, security), its denominators
the totals of every valid row of the files, kept or not, as the ingest kept them on the compiled pass
and on the exact path alike; equal to an independent computation over the source files."""
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from orders_assets.cli.main import main
from orders_assets.core.generate import generate_orders
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.support.reference import reference_reports

DEFERRED_ROWS = (  # rows the compiled pass leaves to the exact path, valid all the same
    "900001,2025-03-03 12:00:00+11:00,BHP,P1,B,LIMIT,1.5,10,NEW\n"
    '900002,2025-03-03 12:30:00,"B""HP",P1,S,CENTRE_POINT,2.25,3,NEW\n'
    '900003,2025-03-03 13:00:00,BHP,"P,1",S,CENTRE_POINT,3,7,NEW\n'
)
"""The generator's files have the contract's columns and an `event` column."""


def per_key(rows) -> dict[tuple[str, str], list]:
    """orders, quantity and exact value per (trade date, security) of the reference's rows."""
    sums: dict = defaultdict(lambda: [0, 0, Decimal(0)])
    for row in rows:
        totals = sums[(row.trade_date.isoformat(), row.security_code)]
        totals[0] += 1
        totals[1] += row.quantity
        totals[2] += row.value
    return dict(sums)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("share")
    landing, data = root / "landing", root / "data"
    generate_orders(landing / "a.csv", rows=20_000, days=2, securities=5, seed=71, bad_rows=0.002)
    with open(landing / "a.csv", "a") as file:
        file.write(DEFERRED_ROWS)
    generate_orders(landing / "b.csv.gz", rows=4_000, days=1, securities=3, seed=72, start_date=date(2025, 3, 5))
    return root, landing, data


def test_market_share_equals_an_independent_computation_over_every_valid_row(shared, capsys, monkeypatch):
    root, landing, data = shared
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    capsys.readouterr()
    reference = reference_reports(sorted(landing.iterdir()))
    market, kept = per_key(reference.valid), per_key(reference.kept)
    rows = pq.read_table(data / "reports" / "market_share.parquet").to_pylist()
    assert {(row["trade_date"].isoformat(), row["security_code"]) for row in rows} == set(market)
    for row in rows:
        key = (row["trade_date"].isoformat(), row["security_code"])
        orders, quantity, value = kept.get(key, [0, 0, Decimal(0)])
        assert [row["market_orders"], row["market_quantity"], row["market_value"]] == market[key], key
        assert [row["orders"], row["quantity"], row["value"]] == [orders, quantity, value], key
        assert row["orders_share"] == pytest.approx(orders / market[key][0])
        assert row["value_share"] == pytest.approx(float(value / market[key][2]))
    assert ("2025-03-03", 'B"HP') in market  # the deferred rows are in the market, read by the exact path
    assert sum(row["market_orders"] for row in rows) == reference.rows_read - reference.rows_rejected
    page = (data / "reports" / "index.html").read_text()
    assert "<h2>Share of the market</h2>" in page and 'href="market_share.csv"' in page
    share = sum(row["orders"] for row in rows) / sum(row["market_orders"] for row in rows)
    assert f"{share:.2%}" in page


def test_a_file_ingested_before_market_totals_is_named_and_its_keys_have_no_denominator(shared, capsys, monkeypatch):
    """A store written by an earlier release opens: a manifest without market totals leaves its keys'
    market columns empty, and the report's metadata and the run's output name the file."""
    import json

    root, landing, data = shared
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    store = OrderStore(data)
    [manifest] = [found for found in store.manifests() if found.source_key == "b.csv.gz"]
    path = store.source_folder(manifest.source_key) / "manifest.json"
    document = json.loads(path.read_text())
    assert document["market_totals"] is True
    document.pop("market_totals")
    document["version"] = 7
    path.write_text(json.dumps(document))
    (data / "reports" / "summary.json").unlink()  # the reports are built again
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    printed = capsys.readouterr()
    assert "market_share: 1 file(s) ingested before the market's totals were kept (b.csv.gz)" in printed.out + printed.err
    rows = pq.read_table(data / "reports" / "market_share.parquet").to_pylist()
    late = [row for row in rows if row["trade_date"].isoformat() == "2025-03-05"]
    assert late and all(row["market_orders"] is None and row["orders_share"] is None for row in late)
    assert "`orders-assets run --rehash` reads them again" in printed.out + printed.err

    assert main(["run", "--landing", str(landing), "--data", str(data), "--rehash"]) == 0  # the fix it names
    printed = capsys.readouterr()
    assert "ingest_order_files" in printed.out and "ingested before the market's totals" not in printed.out + printed.err
    assert OrderStore(data).manifest("b.csv.gz").market_totals is True
    rows = pq.read_table(data / "reports" / "market_share.parquet").to_pylist()
    assert all(row["market_orders"] for row in rows)


def test_market_share_is_an_asset_of_the_reports_group_with_its_description(shared):
    import dagster as dg

    from orders_assets.glue.definitions import build_definitions
    from orders_assets.glue.resources import OrdersSettings

    root, landing, data = shared
    node = build_definitions(OrdersSettings(landing_dir=str(landing), data_dir=str(data))).resolve_asset_graph().get(
        dg.AssetKey("market_share"))
    assert node.group_name == "reports" and "share of the market" in node.description


def test_under_an_overlap_rule_other_than_union_the_report_says_the_market_counts_every_file(tmp_path, capsys,
                                                                                              monkeypatch):
    """latest_per_date keeps one file's rows for a date in the order set; the market's totals are each
    file's, so a date two files hold counts both there: said in the run's output and the asset's metadata."""
    import dagster as dg

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "day.csv", rows=2_000, days=1, securities=2, seed=73)
    config = tmp_path / "latest.yaml"
    config.write_text("overlap: latest_per_date\n")
    generate_orders(landing / "other.csv", rows=2_000, days=1, securities=2, seed=74)  # the same date, other rows
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(config)]) == 0
    said = capsys.readouterr()
    assert "market_share: under this overlap rule the order set counts a re-sent row once" in said.out + said.err
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        [record] = instance.fetch_materializations(dg.AssetKey("market_share"), limit=1).records
    assert record.asset_materialization.metadata["market_counts_every_file"].value is True
    rows = pq.read_table(data / "reports" / "market_share.parquet").to_pylist()
    reference = reference_reports(sorted(landing.iterdir()))
    assert sum(row["market_orders"] for row in rows) == len(reference.valid)  # both files' rows
    assert sum(row["orders"] for row in rows) < len(reference.kept)  # one file's a date


def test_a_market_share_file_deleted_by_hand_is_built_again_by_the_next_run(shared, capsys, monkeypatch):
    root, landing, data = shared
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    (data / "reports" / "market_share.csv").unlink()
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    assert "ok     build_reports" in capsys.readouterr().out
    assert (data / "reports" / "market_share.csv").is_file()
