"""A partition step's keys listed once by the project's code (each key's figures: dagster/test_pipeline.py)."""
import traceback
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.partitions.definition.multi import MultiPartitionsDefinition

from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.glue.names import PARTITIONS_JOB
from orders_assets.glue.resources import OrdersSettings

PROJECT = str(Path(__file__).resolve().parents[2] / "orders_assets")


@pytest.fixture
def listings(monkeypatch) -> Counter:
    """Listings of a multi-partition's keys, counted by the project's frame that asked for them
    (Dagster's own, at run creation and in its contexts, are not the project's to cut)."""
    found: Counter = Counter()
    for name in ("get_partition_keys", "get_partition_keys_in_range"):
        original = getattr(MultiPartitionsDefinition, name)

        def counted(self, *args, _original=original, **kwargs):
            ours = [frame for frame in traceback.extract_stack()[:-1] if frame.filename.startswith(PROJECT)]
            # launch.py and partitions.py ask Dagster to resolve a range; data_version_cache.py is Dagster's
            # own method, copied (its listings are Dagster's step context resolving the step's range)
            if ours and not ours[-1].filename.endswith(("launch.py", "partitions.py", "data_version_cache.py")):
                found[f"{Path(ours[-1].filename).name}:{ours[-1].name}"] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(MultiPartitionsDefinition, name, counted)
    return found


def test_a_partition_step_lists_its_keys_once(tmp_path, listings):
    """Dagster lists a multi-partition's keys anew at each access (about 10 us a key of the whole
    definition): the asset body and add_partition_metadata share one listing per run."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (tmp_path / "home").mkdir()
    generate_orders(landing / "orders.csv", rows=6_000, days=3, securities=8, participants=10, seed=2)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(tmp_path / "data"))
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        outcome = run_pipeline(settings, instance)
    partition_runs = [run for run in outcome.runs if run.job == PARTITIONS_JOB]
    assert outcome.success and outcome.partitions == 24 and partition_runs
    assert listings == Counter({"order_sets.py:filtered_orders": len(partition_runs)})
