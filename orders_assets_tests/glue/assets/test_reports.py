"""What the Dagster UI shows of the reports: each plotted report's picture inline in its latest
materialization, numeric orders and value to plot over time, and the summary page's location."""
import base64
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit
from urllib.request import url2pathname

import dagster as dg
import pandas as pd
import pytest

from orders_assets.glue.assets.reports import reports
from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.resources import OrdersSettings
from orders_assets.cli.runner import run_pipeline
from orders_assets_tests.core.report.test_plots import EXPECTED_PLOTS, PNG_SIGNATURE

INLINE_PNG = re.compile(r"!\[(?P<name>[^\]]+)\]\(data:image/png;base64,(?P<data>[A-Za-z0-9+/=]+)\)")


def run_on_generated_data(root: Path, instance: dg.DagsterInstance) -> OrdersSettings:
    landing = root / "landing"
    generate_orders(landing / "orders.csv", rows=20_000, days=3, securities=6, participants=30, seed=5,
                    bad_rows=0.002)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(root / "data"))
    assert run_pipeline(settings, instance).success
    return settings


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    with dg.instance_for_test(temp_dir=str(root)) as instance:
        settings = run_on_generated_data(root, instance)
        yield SimpleNamespace(instance=instance, reports=Path(settings.data_dir) / "reports")


def latest_metadata(instance: dg.DagsterInstance, name: str) -> dict:
    event = instance.get_latest_materialization_event(dg.AssetKey(name))
    return event.asset_materialization.metadata


def inline_png(metadata: dict, name: str) -> bytes:
    match = INLINE_PNG.fullmatch(metadata["plot"].value)
    assert match and match["name"] == name
    return base64.b64decode(match["data"], validate=True)


@pytest.mark.parametrize("name", sorted(EXPECTED_PLOTS))
def test_a_plotted_report_shows_exactly_its_png_file_inline(pipeline, name):
    metadata = latest_metadata(pipeline.instance, name)
    assert isinstance(metadata["plot"], dg.MarkdownMetadataValue)
    path = Path(metadata["plot_file"].value)
    assert path == pipeline.reports / "plots" / f"{name}.png"
    png = inline_png(metadata, name)
    assert png.startswith(PNG_SIGNATURE)
    assert png == path.read_bytes()


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_report_has_orders_and_value_to_plot_over_time_and_keeps_its_metadata(pipeline, name):
    metadata = latest_metadata(pipeline.instance, name)
    frame = pd.read_csv(pipeline.reports / f"{name}.csv")
    assert isinstance(metadata["orders"], dg.IntMetadataValue)
    assert isinstance(metadata["value"], dg.FloatMetadataValue)
    assert metadata["orders"].value == frame["orders"].sum() > 1_000
    assert metadata["value"].value == pytest.approx(frame["value"].sum(), rel=1e-9)
    assert metadata["rows"].value == len(frame)
    assert Path(metadata["csv"].value) == pipeline.reports / f"{name}.csv"
    assert Path(metadata["parquet"].value) == pipeline.reports / f"{name}.parquet"
    assert metadata["preview"].value.startswith("| ")
    assert ("plot" in metadata) == (name in EXPECTED_PLOTS)
    assert metadata["engine_seconds"].value > 0 and metadata["peak_rss_mib"].value > 50  # its own cost, never 0


def test_the_summary_points_to_the_page_as_a_path_and_a_file_url(pipeline):
    metadata = latest_metadata(pipeline.instance, "summary")
    page = Path(metadata["index_html"].value)
    assert page == pipeline.reports / "index.html" and page.is_file()
    url = urlsplit(metadata["index_url"].value)
    assert url.scheme == "file" and Path(url2pathname(url.path)) == page.resolve()
    text = page.read_text()
    summary = json.loads((pipeline.reports / "summary.json").read_text())
    assert f'data-field="rows_read">{summary["rows_read"]:,}<' in text
    for name in EXPECTED_PLOTS:
        assert f'src="plots/{name}.png"' in text


def test_a_subset_draws_only_its_plots_and_the_page_links_the_plots_present(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        settings = run_on_generated_data(tmp_path, instance)
        plots = Path(settings.data_dir) / "reports" / "plots"
        (plots / "by_order_size.png").unlink()
        before = {path.name: path.stat().st_ino for path in plots.iterdir()}
        result = dg.materialize([reports], selection=["by_time_of_day"], resources={"settings": settings},
                                instance=instance)
        assert result.success
        assert [event.asset_key.to_user_string() for event in result.get_asset_materialization_events()] == [
            "by_time_of_day"]
        after = {path.name: path.stat().st_ino for path in plots.iterdir()}
        metadata = latest_metadata(instance, "by_time_of_day")
    assert set(after) == {"by_time_of_day.png", "by_participant.png", "timeseries_daily.png"}
    assert after["by_time_of_day.png"] != before["by_time_of_day.png"]  # drawn again
    assert after["by_participant.png"] == before["by_participant.png"]  # not selected: untouched
    assert inline_png(metadata, "by_time_of_day") == (plots / "by_time_of_day.png").read_bytes()
    page = (plots.parent / "index.html").read_text()
    assert 'src="plots/by_participant.png"' in page and 'src="plots/timeseries_daily.png"' in page
    assert "by_order_size.png" not in page
    assert 'href="summary.json"' in page  # the summary of the earlier run is still there


def test_a_page_or_plot_deleted_by_hand_is_drawn_again_by_the_next_run(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        settings = run_on_generated_data(tmp_path, instance)
        reports_dir = Path(settings.data_dir) / "reports"
        page = (reports_dir / "index.html").read_bytes()
        plot = (reports_dir / "plots" / "by_order_size.png").read_bytes()
        (reports_dir / "index.html").unlink()
        (reports_dir / "plots" / "by_order_size.png").unlink()
        outcome = run_pipeline(settings, instance)
        assert outcome.success and [run.job for run in outcome.runs] == ["build_reports"]
        assert (reports_dir / "index.html").read_bytes() == page
        assert (reports_dir / "plots" / "by_order_size.png").read_bytes() == plot
