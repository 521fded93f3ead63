"""The synthetic generator, checked by reading its files back independently (csv module, pandas)."""
import csv
import gzip
import io
import re
from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from orders_assets.core.generate import BAD_ROW_KINDS, generate_orders

HEADER = ["order_id", "timestamp", "security_code", "participant_id", "side", "order_type", "price", "quantity",
          "event"]
PRICE = re.compile(r"^[0-9]+\.[0-9]{1,3}$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def read_lines(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("generate") / "orders.csv"
    report = generate_orders(path, rows=100_000, days=4, securities=30, participants=80, seed=11)
    return path, report, pd.read_csv(path, dtype=str)


def test_header_rows_days_and_determinism(sample, tmp_path):
    path, report, frame = sample
    assert read_lines(path)[0] == HEADER
    assert len(frame) == report.rows == 100_000
    days = sorted(frame["timestamp"].str[:10].unique())
    assert days == [str(day) for day in report.trade_dates] == ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]
    assert all(date.fromisoformat(day).weekday() < 5 for day in days)
    again = generate_orders(tmp_path / "again.csv", rows=100_000, days=4, securities=30, participants=80, seed=11)
    other = generate_orders(tmp_path / "other.csv", rows=100_000, days=4, securities=30, participants=80, seed=12)
    assert again.path.read_bytes() == path.read_bytes()
    assert other.path.read_bytes() != path.read_bytes()


def test_weekends_are_skipped(tmp_path):
    report = generate_orders(tmp_path / "o.csv", rows=1_000, days=3, seed=1, start_date=date(2025, 3, 7))
    assert report.trade_dates == (date(2025, 3, 7), date(2025, 3, 10), date(2025, 3, 11))


def test_content_is_realistic(sample):
    _, report, frame = sample
    centre_point = frame["order_type"].isin(["CENTRE_POINT", "CENTRE_POINT_BLOCK"]).mean()
    assert 0.10 <= centre_point <= 0.35
    clock = frame["timestamp"].str[11:]
    assert 0.85 <= ((clock >= "10:00:00") & (clock < "16:00:00")).mean() <= 0.95
    assert (clock < "10:00:00").any() and (clock >= "16:00:00").any()
    assert {"10:00:00", "16:00:00"} <= set(clock.str[:8])
    assert frame["timestamp"].str.match(STAMP.pattern).all()
    assert frame["price"].str.match(PRICE.pattern).all()
    prices, quantities = frame["price"].astype(float), frame["quantity"].astype(int)
    assert (prices > 0).all() and (quantities >= 1).all()
    value = prices * quantities
    buckets = pd.cut(value, [0, 10_000, 50_000, 200_000, 1_000_000, float("inf")], right=False)
    assert (buckets.value_counts() > 0).all()
    activity = frame["security_code"].value_counts()
    assert activity.iloc[0] > 5 * activity.iloc[-1]
    assert frame["security_code"].nunique() == 30 == len(set(report.securities))
    assert set(frame["side"]) == {"B", "S"} and frame["participant_id"].nunique() > 50
    amends = frame[frame["event"] != "NEW"]
    news = frame[frame["event"] == "NEW"].set_index("order_id")["security_code"]
    shared = amends[amends["order_id"].isin(news.index)]
    assert len(shared) > 0.9 * len(amends)
    assert (news.loc[shared["order_id"]].to_numpy() == shared["security_code"].to_numpy()).all()


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.zst", ".parquet"])
def test_compressed_and_parquet_outputs_hold_the_same_rows(sample, tmp_path, suffix):
    path, _, frame = sample
    other = generate_orders(tmp_path / f"orders{suffix}", rows=100_000, days=4, securities=30, participants=80,
                            seed=11).path
    if suffix == ".parquet":
        table = pd.read_parquet(other)
        assert pa.types.is_decimal(pa.Schema.from_pandas(table).field("price").type) or table["price"].dtype == object
        assert (table["order_id"].to_numpy() == frame["order_id"].to_numpy()).all()
        assert (table["quantity"].astype(str).to_numpy() == frame["quantity"].to_numpy()).all()
        assert (table["timestamp"].astype(str).str[:19].to_numpy() == frame["timestamp"].str[:19].to_numpy()).all()
    else:
        with pa.input_stream(str(other), compression="detect") as stream:
            assert pd.read_csv(io.BytesIO(stream.read()), dtype=str).equals(frame)


def breaks_its_rule(kind: str, fields: list[str]) -> bool:
    """An independent check that a line breaks the rule of its kind and no other."""
    if kind == "too_few_fields":
        return len(fields) == len(HEADER) - 1
    if kind == "too_many_fields":
        return len(fields) == len(HEADER) + 1
    row = dict(zip(HEADER, fields))
    expected = {
        "price_text": ("price", "abc"), "price_negative": ("price", "-1.50"), "price_too_precise": ("price", "1.23456"),
        "quantity_zero": ("quantity", "0"), "quantity_negative": ("quantity", "-5"),
        "quantity_text": ("quantity", "12x"), "quantity_fraction": ("quantity", "10.5"),
        "timestamp_bad": ("timestamp", "2025-13-45 99:00:00"), "missing_order_id": ("order_id", ""),
        "missing_security_code": ("security_code", ""), "missing_participant_id": ("participant_id", ""),
        "side_bad": ("side", "X"),
    }[kind]
    others_valid = is_valid({**row, expected[0]: valid_value(expected[0])})
    return len(fields) == len(HEADER) and row[expected[0]] == expected[1] and others_valid


def valid_value(column: str) -> str:
    return {"price": "1.5", "quantity": "1", "timestamp": "2025-03-03 10:00:00", "side": "B"}.get(column, "x")


def is_valid(row: dict) -> bool:
    return (all(row[name] for name in HEADER[:6]) and bool(STAMP.match(row["timestamp"]))
            and bool(PRICE.match(row["price"])) and row["quantity"].isdigit() and int(row["quantity"]) > 0
            and row["side"] in ("B", "S"))


def test_bad_rows_break_exactly_their_rule_and_every_other_line_is_valid(tmp_path):
    report = generate_orders(tmp_path / "bad.csv", rows=20_000, days=2, seed=5, bad_rows=0.05)
    lines = read_lines(report.path)
    bad = {bad.line: bad.kind for bad in report.bad_lines}
    assert len(bad) == 1_000 and set(bad.values()) == set(BAD_ROW_KINDS) and len(BAD_ROW_KINDS) == 14
    assert len(lines) == 20_001
    for number, fields in enumerate(lines[1:], start=2):
        if number in bad:
            assert breaks_its_rule(bad[number], fields), (number, bad[number], fields)
        else:
            assert len(fields) == len(HEADER) and is_valid(dict(zip(HEADER, fields))), (number, fields)
    assert '"' not in report.path.read_text()


def test_no_temporary_file_is_left_and_bad_arguments_are_refused(tmp_path):
    generate_orders(tmp_path / "o.csv", rows=100, seed=1)
    assert [path.name for path in tmp_path.iterdir()] == ["o.csv"]
    with pytest.raises(ValueError, match="CSV"):
        generate_orders(tmp_path / "o.parquet", rows=100, bad_rows=0.1)
    with pytest.raises(ValueError, match="fraction"):
        generate_orders(tmp_path / "o.csv", rows=100, bad_rows=0.9)
