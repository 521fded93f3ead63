"""Timestamps: offsets and UTC values become exchange time; the screen of plain values agrees
with Arrow and Python value by value."""
import random
import re
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orders_assets.core.generate import generate_orders
from orders_assets.core.read.timestamps import parse_timestamps, plain_local_rows

from orders_assets_tests.core.read.parsing import GOOD, HEADER, parse_text


def test_offsets_are_converted_to_exchange_time(tmp_path):
    utc = "5,2025-03-02T23:30:00Z,BHP,P1,B,CENTRE_POINT,1.5,10,NEW"
    offset = "6,2025-03-03T10:30:00+11:00,BHP,P1,B,CENTRE_POINT,1.5,10,NEW"
    rows, rejects, _ = parse_text(tmp_path, "\n".join([HEADER, GOOD, utc, offset]) + "\n")
    assert rejects.num_rows == 0
    local = pc.local_timestamp(rows["timestamp"]).to_pylist()
    assert [value.strftime("%Y-%m-%d %H:%M") for value in local] == [
        "2025-03-03 10:00", "2025-03-03 10:30", "2025-03-03 10:30"
    ]


def generated_timestamps(tmp_path, rows: int = 3000) -> list[str]:
    path = tmp_path / "orders.csv"
    generate_orders(path, rows=rows, days=3, securities=5, seed=7)
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"timestamp": pa.string()}))["timestamp"].to_pylist()


MUTATIONS = [
    lambda value: value,
    lambda value: value[:19],                      # no fraction
    lambda value: value[:21],                      # one fractional digit
    lambda value: value + "123",                   # nine fractional digits: the exact path
    lambda value: value.replace(" ", "T"),
    lambda value: value[:5] + "13" + value[7:],    # month 13
    lambda value: value[:8] + "30" + value[10:],   # the 30th (not in February)
    lambda value: value[:11] + "24" + value[13:],  # hour 24
    lambda value: value[:17] + "60" + value[19:],  # second 60
    lambda value: value[:3] + "x" + value[4:],
    lambda value: value + "+11:00",                # an offset: the exact path
    lambda value: "2024-02-29" + value[10:],       # a leap day
    lambda value: "2025-02-29" + value[10:],       # not a leap year
    lambda value: "0000" + value[4:],              # year 0
    lambda value: "",
]


def test_the_screen_decides_each_value_as_arrow_and_python_would(tmp_path):
    """plain_local_rows converts alone the values it calls plain: each of them is what Arrow's
    cast and Python's fromisoformat make of it, whatever the mutation; the rest go to the exact path."""
    rng = random.Random(5)
    values = [rng.choice(MUTATIONS)(value) for value in generated_timestamps(tmp_path)]
    plain, micros = plain_local_rows(pa.array(values))
    assert 0 < plain.sum() < len(values)
    epoch = datetime(1970, 1, 1)
    for value, is_plain, value_micros in zip(values, plain.tolist(), micros.tolist()):
        if is_plain:
            parsed = datetime.fromisoformat(value)
            assert value_micros == (parsed - epoch) // timedelta(microseconds=1), value
            assert pc.cast(pa.array([value]), pa.timestamp("us")).cast(pa.int64())[0].as_py() \
                == value_micros
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?", value):
            assert not _python_accepts(value) or value.startswith("0000"), value


def _python_accepts(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def test_a_value_gets_the_same_verdict_alone_and_among_bad_neighbours(tmp_path):
    """The fast path for a block with bad values never changes a value's instant or verdict."""
    rng = random.Random(9)
    values = [rng.choice(MUTATIONS)(value) for value in generated_timestamps(tmp_path, rows=600)]
    together = parse_timestamps(pa.chunked_array([pa.array(values)]), "Australia/Sydney")
    for index, value in enumerate(values):
        alone = parse_timestamps(pa.chunked_array([pa.array([value])]), "Australia/Sydney")
        assert [part[index].as_py() for part in together] == [part[0].as_py() for part in alone], value
