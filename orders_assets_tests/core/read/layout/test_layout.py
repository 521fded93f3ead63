"""Vendor layouts at work: each conversion, the rules' coverage of the landing files, the docs'
layouts, and a whole vendor file (LOBSTER, written from generated orders) giving the same reports
as the canonical file. Loading, checking and choosing layouts: test_load, test_document,
test_column_sources, test_rules."""
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from orders_assets.core import schema
from orders_assets.core.assemble.report_tables import build_report
from orders_assets.core.assemble.assembly import assemble_partitions, pending_partitions
from orders_assets.core.assemble.aggregate_files import load_partials
from orders_assets.core.read.filters import OrderFilter
from orders_assets.core.generate import generate_orders
from orders_assets.core.ingest.source import ChunkedSource, ingest_source
from orders_assets.core.ingest.ingest_settings import IngestSettings
from orders_assets.core.read.layout.model import CANONICAL, LayoutChoice, LayoutRule, rules_reading_no_file
from orders_assets.core.read.layout.apply import to_canonical
from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.load import built_in_names, load_layout
from orders_assets.core.read.layout.rules import layout_choice_from
from orders_assets.core.read.parse import RowParser
from orders_assets.core.read.reader import RawBlock, SourceFormatError
from orders_assets.core.report.files import write_report
from orders_assets.core.read.sources import discover_sources
from orders_assets.core.store.order_store import OrderStore
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.core.read.layout.documents import NAMED_BY_FILE, TRADES
from orders_assets_tests.support.reference import reference_reports


def vendor_block(text: str, first_line: int = 2) -> RawBlock:
    data = text.encode()
    return RawBlock(data=data, first_line=first_line, offset=0, lines=data.count(b"\n"))


def parsed(document: dict, header: list[str], text: str, source_key: str = "v.csv", timezone: str = "UTC",
           decimals: int = 0):
    parser = RowParser(header, source_key, timezone, layout_from_document(document), decimals)
    return parser.parse(vendor_block(text, 1 if document.get("header") is False else 2))


LOBSTER_HEADER = "time,event_type,order_id,size,price,direction\n"
LOBSTER_ROWS = "36000.5,1,7,100,1234500,1\n36001,2,7,50,1234500,1\n"  # 10:00 New York, in the session


def ingest_one(tmp_path: Path, layout, name: str, text: str) -> dict:
    """The manifest of one small file ingested under `layout` (LIMIT orders, New York)."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / name).write_text(text)
    settings = IngestSettings(order_filter=OrderFilter(order_types=("LIMIT",), timezone="America/New_York"),
                              layouts=LayoutChoice((LayoutRule(layout, match="*"),)))
    (source,) = discover_sources(tmp_path / "landing")
    return ingest_source(ChunkedSource(source, settings), OrderStore(tmp_path / "data"))


def test_column_names_null_turns_a_headerless_parent_into_a_header_variant(tmp_path):
    (tmp_path / "with_header.yaml").write_text("extends: lobster\nname: lobster_with_header\ncolumn_names: null\n")
    layout = load_layout(str(tmp_path / "with_header.yaml"))
    assert (layout.header, layout.column_names) == (True, ())
    assert layout.file_pattern == load_layout("lobster").file_pattern
    manifest = ingest_one(tmp_path, layout, "AAPL_2012-06-21_34200000_57600000_message_10.csv",
                          LOBSTER_HEADER + LOBSTER_ROWS)
    assert (manifest.rows_read, manifest.rows_kept, manifest.rows_not_orders, manifest.rows_rejected) \
        == (2, 1, 1, 0)


def test_a_header_line_inside_a_file_whose_layout_has_none_is_quarantined_not_counted_as_not_an_order():
    parser = RowParser(list(load_layout("lobster").column_names), "AAPL_2012-06-21_x.csv", "America/New_York",
                       load_layout("lobster"))
    concatenated = LOBSTER_ROWS + LOBSTER_HEADER.upper() + LOBSTER_ROWS  # two files joined, the second's header kept
    result = parser.parse(vendor_block(concatenated, first_line=1))
    assert (result.rows_read, result.rows.num_rows, result.rows_not_orders) == (5, 2, 2)
    assert result.rejects.select(["line", "column", "raw"]).to_pylist() == [
        {"line": 3, "column": "header", "raw": LOBSTER_HEADER.upper().strip()}]
    assert "column_names: null" in result.rejects["reason"][0].as_py()


@pytest.mark.parametrize("extra, file_name, expected", [
    ({"case": {"security_code": "upper"}}, "bhp_2025.csv", "BHP"),
    ({"case": {"security_code": "lower"}}, "BHP_2025.csv", "bhp"),
    ({"values": {"security_code": {"bhp": "BHP.AX"}}}, "bhp_2025.csv", "BHP.AX"),
    ({"values": {"security_code": {"bhp": "BHP.AX"}}}, "cba_2025.csv", "cba"),
    ({"case": {"security_code": "lower"}, "values": {"security_code": {"bhp": "BHP.AX"}}}, "Bhp_2025.csv", "BHP.AX"),
])
def test_a_security_from_the_file_name_takes_the_case_rule_then_the_value_map(extra, file_name, expected):
    document = {**NAMED_BY_FILE, **extra}
    result = parsed(document, ["id", "ts", "side", "px", "qty"], "1,2025-01-02T10:00:00Z,B,1.5,3\n",
                    source_key=f"in/{file_name}")
    assert result.rows[schema.SECURITY_CODE].to_pylist() == [expected]
    choice = LayoutChoice((LayoutRule(layout_from_document(document), match="*"),))
    assert choice.name_fields(f"in/{file_name}") == {schema.SECURITY_CODE: expected}


def test_a_case_rule_applies_to_a_vendor_column_before_its_value_map():
    document = {**TRADES, "case": {"side": "lower", "security_code": "upper"}, "values": {"side": {"buy": "B"}}}
    table = pa.table({"id": ["1", "2"], "ts": ["2025-01-02T10:00:00Z"] * 2, "sym": ["bhp", "Cba"],
                      "side": ["BUY", "Buy"], "px": ["1.5", "2"], "qty": ["3", "4"]})
    rows = to_canonical(layout_from_document(document), table, {}).table
    assert rows[schema.SIDE].to_pylist() == ["B", "B"]
    assert rows[schema.SECURITY_CODE].to_pylist() == ["BHP", "CBA"]


RULES = [{"layout": "databento_mbo", "folder": "cme"}, {"layout": "generic_trades", "match": "*trades*.csv"},
         {"layout": "lobster", "match": "*_message_*.csv"}, {"layout": "generic_trades", "folder": "cme/"}]


@pytest.mark.parametrize("keys, expected", [
    (["cme/a.csv", "x/btc_trades.csv", "AAPL_2012-06-21_message_1.csv"],
     [["layouts[3]", "generic_trades", "folder: cme", "reads no file", "taken by the earlier layouts[0]"]]),
    (["cme/a.csv", "x/btc_trades.csv"],
     [["layouts[2]", "lobster", "match: '*_message_*.csv'", "matches no file"], ["layouts[3]", "reads no file"]]),
    (["CME/a.csv", "cme_trades.csv"],
     [["layouts[0]", "databento_mbo", "folder: cme", "matches no file", "CME"],
      ["layouts[2]", "lobster", "matches no file"], ["layouts[3]", "folder: cme/", "matches no file"]]),
    ([], [["layouts[0]", "matches no file"], ["layouts[1]", "matches no file"], ["layouts[2]", "matches no file"],
          ["layouts[3]", "matches no file"]]),
])
def test_each_layout_rule_that_reads_no_landing_file_gets_a_message_naming_it(keys, expected):
    messages = rules_reading_no_file(layout_choice_from(RULES), keys)
    assert len(messages) == len(expected), messages
    for message, parts in zip(messages, expected):
        for part in parts:
            assert part in message, (part, message)
    assert rules_reading_no_file(layout_choice_from(RULES[:2]), ["cme/a.csv", "b_trades.csv"]) == []


def test_renames_value_maps_constants_and_a_pass_through_column_that_would_clash():
    document = {**TRADES, "values": {"side": {"buy": "B", "sell": "S"}}}
    table = pa.table({"id": ["1", "2"], "ts": ["2025-01-02T10:00:00Z"] * 2, "sym": ["X", "Y"],
                      "side": ["buy", "hold"], "px": ["1.5", "2"], "qty": ["3", "4"], "trade_date": ["a", "b"]})
    rows = to_canonical(layout_from_document(document), table, {}).table
    assert rows[schema.SIDE].to_pylist() == ["B", "hold"]
    assert rows[schema.ORDER_TYPE].to_pylist() == ["TRADE", "TRADE"]
    assert rows["source_trade_date"].to_pylist() == ["a", "b"]
    assert "trade_date" not in rows.column_names


def test_epoch_times_in_each_unit_and_bad_ones_quarantined_with_their_line():
    header = ["id", "ts", "sym", "side", "px", "qty"]
    for unit, stamp in (("s", "1736503200.25"), ("ms", "1736503200250"), ("us", "1736503200250000"),
                        ("ns", "1736503200250000999")):
        document = {**TRADES, "time": {"format": "epoch", "unit": unit}}
        result = parsed(document, header, f"1,{stamp},X,B,1.5,3\n2,soon,X,B,1.5,3\n", timezone="Europe/Berlin")
        assert result.rows[schema.TIMESTAMP].to_pylist()[0].isoformat() == "2025-01-10T11:00:00.250000+01:00", unit
        assert result.rejects["line"].to_pylist() == [3]
        assert result.rejects["reason"].to_pylist() == [f"timestamp: not a number of {unit} since the epoch"]


def test_times_after_midnight_take_the_date_from_the_file_name_in_the_layouts_zone():
    document = {**TRADES, "columns": {**TRADES["columns"], "security_code": None}, "header": False,
                "column_names": ["id", "ts", "side", "px", "qty"], "time": {"format": "after_midnight", "unit": "s",
                                                                            "timezone": "America/New_York"},
                "file_name": {"pattern": r"^(?P<security_code>[A-Z]+)_(?P<trade_date>\d{8})", "date_format": "%Y%m%d"}}
    document["columns"] = {key: value for key, value in document["columns"].items() if value}
    result = parsed(document, ["id", "ts", "side", "px", "qty"], "1,34200.5,B,1.5,3\n",
                    source_key="in/AAPL_20120621_x.csv", timezone="Europe/London")
    assert result.rows[schema.SECURITY_CODE].to_pylist() == ["AAPL"]
    assert result.rows[schema.TIMESTAMP].to_pylist()[0].isoformat() == "2012-06-21T14:30:00.500000+01:00"
    with pytest.raises(SourceFormatError, match="does not match layout trades's file_name pattern"):
        RowParser(["id", "ts", "side", "px", "qty"], "aapl.csv", "UTC", layout_from_document(document))


def test_price_and_quantity_scales_shift_the_decimal_point_exactly():
    document = {**TRADES, "price_scale": 10000, "quantity_scale": 0.001}
    result = parsed(document, ["id", "ts", "sym", "side", "px", "qty"],
                    "1,2025-01-02T10:00:00Z,X,B,1234567,2.5\n2,2025-01-02T10:00:00Z,X,B,1234567.5,1\n"
                    "3,2025-01-02T10:00:00Z,X,B,1x,1\n")
    assert pc.cast(result.rows[schema.PRICE], pa.decimal128(18, 4)).to_pylist() == [Decimal("123.4567")]
    assert result.rows[schema.QUANTITY].to_pylist() == [2500]
    assert result.rejects["reason"].to_pylist() == [
        "price: not a decimal number with at most 14 digits before the point and 4 after", "price: not a number"]


def test_fractional_quantities_when_the_run_allows_them_and_whole_numbers_with_a_zero_fraction():
    header = ["id", "ts", "sym", "side", "px", "qty"]
    text = "1,2025-01-02T10:00:00Z,X,B,10,0.132\n2,2025-01-02T10:00:00Z,X,B,10,159.0\n"
    whole = parsed(TRADES, header, text)
    assert whole.rows[schema.QUANTITY].to_pylist() == [159]
    assert whole.rejects["reason"].to_pylist() == ["quantity: not a whole number"]
    fractional = parsed(TRADES, header, text, decimals=8)
    assert fractional.rows[schema.QUANTITY].type == pa.decimal128(19, 8)
    assert fractional.rows[schema.QUANTITY].to_pylist() == [Decimal("0.132"), Decimal("159")]


def test_rows_that_are_not_orders_are_counted_and_an_unreadable_bit_field_is_quarantined():
    document = {**TRADES, "orders": [{"column": "kind", "in": ["A"]}, {"column": "flags", "bits_clear": 32}]}
    header = ["id", "ts", "sym", "side", "px", "qty", "kind", "flags"]
    lines = ["1,2025-01-02T10:00:00Z,X,B,1,1,A,0", "2,2025-01-02T10:00:00Z,X,B,1,1,C,0",
             "3,2025-01-02T10:00:00Z,X,B,1,1,A,40", "4,2025-01-02T10:00:00Z,X,B,1,1,A,oops",
             "5,2025-01-02T10:00:00Z,X,B,,1,C,0"]
    result = parsed(document, header, "\n".join(lines) + "\n")
    assert result.rows_read == 5 and result.rows_not_orders == 3
    assert result.rows[schema.ORDER_ID].to_pylist() == ["1"]
    assert result.rejects.select(["line", "column", "raw"]).to_pylist() == [
        {"line": 5, "column": "flags", "raw": lines[3]}]
    with pytest.raises(SourceFormatError, match="missing required column.s. flags.*layout trades"):
        RowParser(header[:-1], "v.csv", "UTC", layout_from_document(document))


LOBSTER_EVENTS = {"CENTRE_POINT": 1, "CENTRE_POINT_BLOCK": 1, "LIMIT": 2, "MARKET": 3, "SWEEP": 4}


def write_lobster_files(canonical: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """One LOBSTER message file per (security, date), as the vendor writes them; returns the canonical
    rows as LOBSTER keeps them (participant unknown, submissions as LIMIT orders)."""
    folder.mkdir(parents=True)
    wall = pd.to_datetime(canonical["timestamp"])
    canonical = canonical.assign(date=wall.dt.strftime("%Y-%m-%d"),
                                 seconds=(wall - wall.dt.normalize()).dt.total_seconds().map("{:.6f}".format),
                                 event=canonical["order_type"].map(LOBSTER_EVENTS).fillna(5).astype(int))
    for (security, day), rows in canonical.groupby(["security_code", "date"]):
        message = pd.DataFrame({
            "time": rows["seconds"], "event_type": rows["event"], "order_id": rows["order_id"],
            "size": rows["quantity"], "price": [int(Decimal(p) * 10000) for p in rows["price"]],
            "direction": np.where(rows["side"] == "B", 1, -1)})
        message.to_csv(folder / f"{security}_{day}_34200000_57600000_message_10.csv", header=False, index=False)
    return canonical.assign(participant_id="UNKNOWN",
                            order_type=np.where(canonical["event"] == 1, "LIMIT", "OTHER"))


def test_a_lobster_history_gives_the_reports_of_the_same_orders_in_canonical_form(tmp_path):
    generated = generate_orders(tmp_path / "orders.csv", rows=30_000, days=2, securities=4, seed=7)
    canonical = pd.read_csv(generated.path, dtype=str, keep_default_na=False).drop(columns=["event"])
    as_lobster = write_lobster_files(canonical, tmp_path / "landing")
    as_lobster[list(schema.CANONICAL_COLUMNS)].to_csv(tmp_path / "expected.csv", index=False)
    zone = "America/New_York"
    expected = reference_reports([tmp_path / "expected.csv"], timezone=zone, order_types=("LIMIT",))

    settings = IngestSettings(order_filter=OrderFilter(order_types=("LIMIT",), timezone=zone),
                              layouts=LayoutChoice((LayoutRule(load_layout("lobster"), match="*_message_*.csv"),)))
    store = OrderStore(tmp_path / "data")
    manifests = [ingest_source(ChunkedSource(source, settings), store) for source in discover_sources(tmp_path / "landing")]
    assert len(manifests) == 8
    assert sum(m.rows_read for m in manifests) == 30_000
    assert sum(m.rows_not_orders for m in manifests) == int((as_lobster["event"] != 1).sum())
    assert sum(m.rows_rejected for m in manifests) == 0
    assemble_partitions(store, pending_partitions(store))
    partials = load_partials(store)
    for name in schema.REPORT_NAMES:
        write_report(build_report(name, partials), store.reports, name)
        assert_report_equals(read_report(store.reports, name, "csv"), expected.reports[name], name)


DOCS = Path(__file__).resolve().parents[4] / "docs"


def test_every_layout_in_the_docs_is_valid_and_the_worked_example_is_the_shipped_file(tmp_path):
    text = (DOCS / "layouts.md").read_text()
    layouts = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "\ncolumns:" in "\n" + block]
    assert len(layouts) >= 2
    for index, block in enumerate(layouts):
        (tmp_path / f"doc{index}.yaml").write_text(block)
        assert load_layout(str(tmp_path / f"doc{index}.yaml")).columns
    worked = next(index for index, block in enumerate(layouts) if block.startswith("name: bitstamp_orders"))
    assert len(layouts[worked].strip().splitlines()) < 20
    shipped = load_layout(str(DOCS / "layouts" / "bitstamp_orders.yaml"))
    assert load_layout(str(tmp_path / f"doc{worked}.yaml")).fingerprint == shipped.fingerprint
    for path in (DOCS / "layouts").glob("*.yaml"):
        assert load_layout(str(path)).name == path.stem


def built_in_section(text: str, name: str) -> str:
    found = re.search(rf"^### `{name}`\n(.*?)(?=^##)", text, re.S | re.M)
    assert found, f"docs/layouts.md has no section ### `{name}`"
    return found.group(1)


@pytest.mark.parametrize("name", [name for name in built_in_names() if name != CANONICAL])
def test_the_docs_describe_each_built_in_layout_column_by_column_as_its_file_says(name):
    """Each built-in's section names, per canonical column, the vendor column or constant its YAML
    gives (or the file name), and every column its orders rule tests, so the page cannot drift."""
    layout = load_layout(name)
    section = built_in_section((DOCS / "layouts.md").read_text(), name)
    for column in schema.CANONICAL_COLUMNS:
        row = next((line for line in section.splitlines() if line.startswith(f"| `{column}` |")), None)
        assert row is not None, (name, column)
        if column in layout.columns:
            assert f"column `{layout.columns[column]}`" in row, (name, row)
        elif column in layout.constants:
            assert f"constant `{layout.constants[column]}`" in row, (name, row)
        else:
            assert "file name" in row, (name, row)
    for condition in layout.orders:
        assert f"`{condition.column}`" in section.split("**Not orders**")[0], (name, condition)
    assert "**Orders**" in section and "**Not orders**" in section


def test_every_layout_that_extends_another_in_the_docs_loads(tmp_path):
    text = (DOCS / "layouts.md").read_text()
    blocks = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if block.startswith("extends:")]
    assert len(blocks) >= 3
    for index, block in enumerate(blocks):
        (tmp_path / f"doc{index}.yaml").write_text(block)
        assert load_layout(str(tmp_path / f"doc{index}.yaml")).name
    header_variant = next(block for block in blocks if "column_names: null" in block)
    (tmp_path / "header.yaml").write_text(header_variant)
    assert load_layout(str(tmp_path / "header.yaml")).header


def test_parquet_timestamps_in_nanoseconds_are_held_to_the_microsecond():
    stamps = pa.array([1736503200250000999], pa.timestamp("ns", "UTC"))
    table = pa.table({"id": ["1"], "ts": stamps, "sym": ["X"], "side": ["B"], "px": [1.5], "qty": [3]})
    parser = RowParser(table.column_names, "v.parquet", "UTC", layout_from_document(TRADES))
    rows = parser.parse_table(table, 1).rows
    assert rows[schema.TIMESTAMP].to_pylist()[0].isoformat() == "2025-01-10T10:00:00.250000+00:00"


def test_numeric_times_that_no_timestamp_can_hold_are_flagged_not_wrapped():
    from orders_assets.core.read.layout.apply import _micros

    for unit_ns, values in ((10 ** 9, ["1", "-5", "1703545200105900877", None]),
                            (10 ** 9, ["1.5", "-5", "1703545200105900877", None]),
                            (1, ["1000", "-5000", "99999999999999999999", None])):
        micros, bad = _micros(pa.chunked_array([values]), unit_ns)
        assert bad.to_pylist() == [False, True, True, False], values
        assert micros.to_pylist()[0] == (1 if unit_ns == 1 else int(float(values[0]) * 1_000_000))
        assert micros.to_pylist()[1:] == [None, None, None]


@pytest.mark.parametrize("scale", [10 ** 8, 10 ** 12, 10 ** 18])
def test_the_largest_price_scales_shift_exactly_and_refuse_what_would_round(scale):
    exact = str(12345 * scale)  # 12345.0000 once shifted
    rounding = str(12345 * scale + 1)  # 12345.000...1: more places than a price may have
    result = parsed({**TRADES, "price_scale": scale}, ["id", "ts", "sym", "side", "px", "qty"],
                    f"1,2025-01-02T10:00:00Z,X,B,{exact},5\n2,2025-01-02T10:00:00Z,X,B,{rounding},5\n")
    assert pc.cast(result.rows[schema.PRICE], pa.decimal128(18, 4)).to_pylist() == [Decimal("12345")]
    assert result.rejects["reason"].to_pylist() == [
        "price: not a decimal number with at most 14 digits before the point and 4 after"]
