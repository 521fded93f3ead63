"""Kept rows grouped by partition for staging: each partition one run, the runs in key order."""
import random
from datetime import date

import pyarrow as pa

from orders_assets.core import schema
from orders_assets.core.ingest.staging import grouped_by_partition
from orders_assets.core.store.keys import PartitionKey


def test_each_partition_is_one_run_in_key_order_with_its_rows_in_input_order():
    rng = random.Random(3)
    codes = ["ZZD", "ACL", "BHP", "Ä1", "CBA", "A", "AB"]  # first appearance is not text order
    days = [date(2025, 3, 4), date(2025, 3, 3), date(2025, 3, 5)]
    records = [(rng.choice(days), rng.choice(codes), line) for line in range(2, 2_002)]
    rows = pa.table({schema.TRADE_DATE: pa.array([day for day, _, _ in records], pa.date32()),
                     schema.SECURITY_CODE: [code for _, code, _ in records],
                     "source_line": pa.array([line for _, _, line in records], pa.int64())})
    grouped, runs = grouped_by_partition(rows)
    keys = [key for key, _start, _rows in runs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert [start for _key, start, _rows in runs] == [sum(rows for _k, _s, rows in runs[:index])
                                                       for index in range(len(runs))]
    for key, start, count in runs:
        lines = grouped["source_line"].slice(start, count).to_pylist()
        assert lines == [line for day, code, line in records if PartitionKey(str(day), code) == key]
    assert sum(count for _key, _start, count in runs) == len(records)
    assert {key.trade_date for key in keys} == {str(day) for day in days}
