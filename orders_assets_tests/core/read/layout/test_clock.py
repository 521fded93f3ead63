"""Time columns as exchanges write them: a time of day in a strptime format or a named encoding
(hhmmss, hhmmssfff, hhmmss with a nanoseconds column) beside a date column with its own format."""
from datetime import datetime, timezone

import pytest

from orders_assets.core import schema
from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import LayoutError
from orders_assets.core.read.parse import RowParser
from orders_assets_tests.core.read.layout.test_layout import vendor_block

ORDER_LOG = {"name": "order_log",
             "columns": {"order_id": "order_no", "timestamp": "order_time", "security_code": "symbol",
                         "side": "side", "price": "price", "quantity": "volume", "order_type": "type"},
             "constants": {"participant_id": "UNKNOWN"},
             "time": {"format": "%H:%M:%S.%f", "date_column": "order_date", "date_format": "%Y%m%d",
                      "timezone": "Asia/Tokyo"}}
ORDER_LOG_HEADER = ["order_date", "order_time", "order_no", "symbol", "side", "price", "volume", "type"]


def local_times(document: dict, header: list[str], text: str):
    result = RowParser(header, "log.csv", "Asia/Tokyo", layout_from_document(document)).parse(vendor_block(text))
    return result, [None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")
                    for value in result.rows["local_time"].to_pylist()]


def test_an_order_log_time_of_day_beside_its_date_column():
    text = ("20250303,08:30:01.100000,1,7203,B,2500.5,100,LIMIT\n"
            "20250303,09:00:00,2,7203,S,2501,200,LIMIT\n"
            "20250304,15:29:59.999999999,3,7203,B,2500,100,LIMIT\n"   # nanoseconds: truncated to the microsecond
            "20250303,25:00:00.0,4,7203,B,2500,100,LIMIT\n"            # no such hour
            "2025-03-03,09:00:00.0,5,7203,B,2500,100,LIMIT\n")         # not the date column's format
    result, times = local_times(ORDER_LOG, ORDER_LOG_HEADER, text)
    assert times == ["2025-03-03 08:30:01.100000", "2025-03-03 09:00:00.000000", "2025-03-04 15:29:59.999999"]
    assert result.rejects.select(["line", "column"]).to_pylist() == [{"line": 5, "column": "timestamp"},
                                                                     {"line": 6, "column": "order_date"}]
    assert result.rejects["reason"][0].as_py() == "timestamp: not a time of day in the layout's format %H:%M:%S.%f"
    assert result.rejects["reason"][1].as_py() == "order_date: not a date in the layout's date_format %Y%m%d"
    assert result.rows[schema.TIMESTAMP][0].as_py() == datetime(2025, 3, 2, 23, 30, 1, 100000, tzinfo=timezone.utc)


B3 = {"name": "b3_trades",
      "columns": {"order_id": "CodigoIdentificadorNegocio", "timestamp": "HoraFechamento",
                  "security_code": "CodigoInstrumento", "price": "PrecoNegocio", "quantity": "QuantidadeNegociada"},
      "constants": {"participant_id": "UNKNOWN", "side": "N", "order_type": "TRADE"},
      "time": {"format": "hhmmssfff", "date_column": "DataNegocio"}}
B3_HEADER = ["DataNegocio", "CodigoInstrumento", "PrecoNegocio", "QuantidadeNegociada", "HoraFechamento",
             "CodigoIdentificadorNegocio"]


def test_b3_hhmmssfff_times_with_or_without_their_leading_zero():
    text = ("2024-03-01,PETR4,37.41,100,090000004,10\n"
            "2024-03-01,PETR4,37.41,100,90000004,20\n"     # a number column written without its leading zero
            "2024-03-01,PETR4,37.41,100,175959999,30\n"
            "2024-03-01,PETR4,37.41,100,096000000,40\n"    # minute 60
            "2024-03-01,PETR4,37.41,100,9:00:00,50\n")
    result, times = local_times(B3, B3_HEADER, text)
    assert times == ["2024-03-01 09:00:00.004000", "2024-03-01 09:00:00.004000", "2024-03-01 17:59:59.999000"]
    assert result.rejects["line"].to_pylist() == [5, 6]
    assert set(result.rejects["reason"].to_pylist()) == {"timestamp: not a time of day in the layout's format "
                                                         "hhmmssfff"}


def test_hhmmss_with_a_nanoseconds_column():
    document = {**B3, "time": {"format": "hhmmss", "nanoseconds_column": "ns", "date_column": "DataNegocio"}}
    text = ("2024-03-01,PETR4,37.41,100,93000,10,123456789\n"
            "2024-03-01,PETR4,37.41,100,093000,20,5\n"
            "2024-03-01,PETR4,37.41,100,093000,30,1000000000\n")
    result, times = local_times(document, B3_HEADER + ["ns"], text)
    assert times == ["2024-03-01 09:30:00.123456", "2024-03-01 09:30:00.000000"]
    assert result.rejects.select(["line", "column"]).to_pylist() == [{"line": 4, "column": "ns"}]


def test_a_strptime_format_with_a_date_reads_whole_date_times():
    document = {**B3, "columns": {**B3["columns"], "timestamp": "when"}, "time": {"format": "%d/%m/%Y %H:%M:%S.%f"}}
    header = ["CodigoInstrumento", "PrecoNegocio", "QuantidadeNegociada", "when", "CodigoIdentificadorNegocio"]
    result, times = local_times(document, header, "PETR4,37.41,100,01/03/2024 10:15:00.25,1\n"
                                                  "PETR4,37.41,100,2024-03-01 10:15:00,2\n")
    assert times == ["2024-03-01 10:15:00.250000"]
    assert result.rejects["reason"].to_pylist() == ["timestamp: not a date-time in the layout's format "
                                                    "%d/%m/%Y %H:%M:%S.%f"]


@pytest.mark.parametrize("time, problem", [
    ({"format": "hhmmssfff"}, "times after midnight need a date"),
    ({"format": "%H:%M:%S"}, "times after midnight need a date"),
    ({"format": "%H:%M:%f.%S", "date_column": "d"}, "%f (the fraction of a second) must end the format"),
    ({"format": "hhmmssx", "date_column": "d"}, "a named time of day"),
    ({"format": "hhmmssfff", "date_column": "d", "nanoseconds_column": "ns"}, "only with format hhmmss"),
    ({"format": "iso", "date_format": "%Y%m%d"}, "give the date column too"),
])
def test_a_time_setting_that_cannot_be_used_is_refused_with_its_fix(time, problem):
    with pytest.raises(LayoutError) as error:
        layout_from_document({**B3, "time": time})
    assert problem in str(error.value)


def test_layouts_without_the_new_time_keys_keep_their_fingerprints():
    old = {**B3, "time": {"format": "after_midnight", "date_column": "DataNegocio"}}
    assert layout_from_document(old).fingerprint == layout_from_document(
        {**old, "time": {**old["time"]}}).fingerprint
    with_format = {**old, "time": {**old["time"], "date_format": "%Y-%m-%d"}}
    assert layout_from_document(with_format).fingerprint != layout_from_document(old).fingerprint
    assert datetime.strptime("20250303", "%Y%m%d")  # the docs' date_format is Python's strptime
