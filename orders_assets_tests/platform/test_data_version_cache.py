"""The reports step's input data versions: Dagster's values, without listing every upstream key."""
import contextlib
import hashlib
import traceback
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.data_version import (DATA_VERSION_TAG, SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD,
                                                    get_input_data_version_tag)
from dagster._core.definitions.partitions.definition.multi import MultiPartitionsDefinition
from dagster._core.execution.context.data_version_cache import DataVersionCache

from orders_assets.cli.runner import run_pipeline
from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_DESCRIPTIONS
from orders_assets.glue.names import FILTERED_ORDERS, REPORTS_JOB
from orders_assets.glue.resources import OrdersSettings
from orders_assets.platform import data_version_cache


def test_the_copy_is_installed_over_the_dagster_it_was_made_from():
    """Fails when Dagster's method changes (an upgrade): the copy must then be made again from it."""
    assert data_version_cache.dagster_source_sha256() == data_version_cache.DAGSTER_SOURCE_SHA256
    assert data_version_cache.install()
    assert DataVersionCache._fetch_input_asset_version_info is data_version_cache._fetch_input_asset_version_info


@pytest.fixture
def listed_by_the_cache(monkeypatch) -> list[str]:
    """One entry for each listing of the multi-partition's keys made from inside the data version cache."""
    found: list[str] = []
    original = MultiPartitionsDefinition.get_partition_keys

    def counted(self, *args, **kwargs):
        if any(frame.name == "_fetch_input_asset_version_info" for frame in traceback.extract_stack()):
            found.append("listed")
        return original(self, *args, **kwargs)
    monkeypatch.setattr(MultiPartitionsDefinition, "get_partition_keys", counted)
    return found


@contextlib.contextmanager
def _run(tmp_path: Path, securities: int):
    """The pipeline over 4 days of `securities` securities; its instance and outcome."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (tmp_path / "home").mkdir()
    generate_orders(landing / "orders.csv", rows=400 * securities, days=4, securities=securities, participants=10,
                    seed=5)
    settings = OrdersSettings(landing_dir=str(landing), data_dir=str(tmp_path / "data"))
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        yield instance, run_pipeline(settings, instance)


def _input_version(instance: dg.DagsterInstance) -> str:
    report = dg.AssetKey(next(iter(REPORT_DESCRIPTIONS)))
    record = instance.fetch_materializations(report, limit=1).records[0]
    assert instance.get_run_by_id(record.run_id).job_name == REPORTS_JOB
    return record.event_log_entry.tags[get_input_data_version_tag(dg.AssetKey(FILTERED_ORDERS))]


def _partition_versions(instance: dg.DagsterInstance) -> dict[str, str]:
    records = instance.fetch_materializations(dg.AssetKey(FILTERED_ORDERS), limit=1_000).records
    latest = {}
    for record in sorted(records, key=lambda found: found.storage_id):
        materialization = record.asset_materialization
        latest[materialization.partition] = materialization.tags[DATA_VERSION_TAG]
    return latest


def test_at_the_threshold_the_reports_take_the_last_event_s_version_without_listing_keys(tmp_path,
                                                                                         listed_by_the_cache):
    """120 keys: Dagster's rule (the upstream's last event's data version), and no key listed for it."""
    with _run(tmp_path, securities=30) as (instance, outcome):
        assert outcome.success and outcome.partitions == 120 >= SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD
        last = instance.fetch_materializations(dg.AssetKey(FILTERED_ORDERS), limit=1).records[0]
        assert _input_version(instance) == last.asset_materialization.tags[DATA_VERSION_TAG]
        assert listed_by_the_cache == []


def test_below_the_threshold_the_reports_hash_every_partition_s_version(tmp_path, listed_by_the_cache):
    """24 keys: Dagster's rule (a hash of every partition's data version in key order), keys listed."""
    with _run(tmp_path, securities=6) as (instance, outcome):
        assert outcome.success and outcome.partitions == 24
        versions = _partition_versions(instance)
        expected = hashlib.sha256("".join(versions[key] for key in sorted(versions)).encode()).hexdigest()
        assert len(versions) == 24 and _input_version(instance) == expected
        assert listed_by_the_cache
