"""The series the plots draw equal an independent pandas computation from the report CSVs."""
from decimal import Decimal

import pyarrow as pa
import pytest

from orders_assets.core.report import plot_data
from orders_assets_tests.core.report.test_plots import (  # noqa: F401 (reports_dir is a fixture)
    CONTRACT_BUCKETS,
    report_csv,
    report_table,
    reports_dir,
)


def test_time_of_day_series_equals_orders_and_value_per_hour_of_the_csv(reports_dir):
    frame = report_csv(reports_dir, "by_time_of_day")
    expected = frame.groupby("hour")[["orders", "value"]].sum().sort_index()
    data = plot_data.time_of_day_data(report_table(reports_dir, "by_time_of_day"))
    assert [int(label.split(":")[0]) for label in data.labels] == expected.index.tolist()
    assert list(data.orders) == expected["orders"].tolist()
    assert data.value == pytest.approx(expected["value"].tolist(), rel=1e-9)
    assert data.total_orders == frame["orders"].sum() > 1_000


def test_an_hour_without_orders_inside_the_span_is_drawn_as_zero():
    table = pa.table({"hour": pa.array([10, 12], pa.int8()), "orders": [3, 5], "quantity": [30, 50],
                      "value": pa.array([Decimal("100.5"), Decimal("200.25")], pa.decimal128(38, 4))})
    data = plot_data.time_of_day_data(table)
    assert data.labels == ("10:00", "11:00", "12:00")
    assert data.orders == (3, 0, 5)
    assert data.value == (100.5, 0.0, 200.25)


def test_daily_series_equals_timeseries_daily_summed_over_securities_and_by_date(reports_dir):
    frame = report_csv(reports_dir, "timeseries_daily")
    assert frame["security_code"].nunique() > 1
    expected = frame.groupby("trade_date")[["orders", "value"]].sum().sort_index()
    data = plot_data.daily_data(report_table(reports_dir, "timeseries_daily"))
    assert list(data.labels) == expected.index.tolist()
    assert list(data.orders) == expected["orders"].tolist()
    assert data.value == pytest.approx(expected["value"].tolist(), rel=1e-9)
    by_date = report_csv(reports_dir, "by_date")
    from_by_date = plot_data.daily_data(report_table(reports_dir, "by_date"))
    assert list(from_by_date.labels) == by_date["trade_date"].tolist() == list(data.labels)
    assert from_by_date.orders == data.orders


def test_size_series_is_in_contract_order_with_orders_and_value_shares(reports_dir):
    frame = report_csv(reports_dir, "by_order_size")
    data = plot_data.order_size_data(report_table(reports_dir, "by_order_size"))
    assert list(data.labels) == CONTRACT_BUCKETS
    expected = frame.set_index("size_bucket").loc[CONTRACT_BUCKETS]
    assert list(data.orders) == expected["orders"].tolist()
    assert data.orders_share() == pytest.approx((100 * expected["orders"] / expected["orders"].sum()).tolist())
    assert data.value_share() == pytest.approx((100 * expected["value"] / expected["value"].sum()).tolist())
    assert sum(data.value_share()) == pytest.approx(100)


def test_top_participants_are_the_fifteen_largest_by_value(reports_dir):
    frame = report_csv(reports_dir, "by_participant")
    assert len(frame) > 15
    expected = frame.sort_values(["value", "participant_id"], ascending=[False, True]).head(15)
    data = plot_data.top_participants_data(report_table(reports_dir, "by_participant"))
    assert list(data.labels) == expected["participant_id"].tolist()
    assert list(data.orders) == expected["orders"].tolist()
    assert data.value == pytest.approx(expected["value"].tolist(), rel=1e-9)
    assert data.total_value == pytest.approx(frame["value"].sum(), rel=1e-9)
    assert data.value_share()[0] == pytest.approx(100 * expected["value"].iloc[0] / frame["value"].sum())


def test_fewer_participants_than_fifteen_are_all_shown():
    table = pa.table({"participant_id": ["B", "A", "C"], "orders": [1, 2, 3], "quantity": [1, 2, 3],
                      "value": pa.array([Decimal(5), Decimal(5), Decimal(9)], pa.decimal128(38, 4))})
    data = plot_data.top_participants_data(table)
    assert data.labels == ("C", "A", "B")  # ties by participant id
    assert data.orders == (3, 2, 1)
