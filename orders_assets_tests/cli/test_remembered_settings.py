"""A data folder remembers its settings: `run` (and `ui`) without --config works under the settings of
the folder's last run and says so; a different config names what changed and what the run redoes
before doing it; every run's last lines name the filter in force."""
import json
from datetime import date

from orders_assets.cli.main import main
from orders_assets.cli.run_command import settings_source
from orders_assets.glue.config_file import folder_config
from orders_assets.core.generate import generate_orders


def run(capsys, landing, data, config=None) -> tuple[int, str]:
    argv = ["run", "--landing", str(landing), "--data", str(data)] + (["--config", str(config)] if config else [])
    status = main(argv)
    return status, capsys.readouterr().out


def kept_types(data) -> list[str]:
    return json.loads((data / "reports" / "summary.json").read_text())["order_filter"]["order_types"]


def test_a_run_without_config_keeps_the_folders_settings_and_a_new_config_says_what_it_redoes(tmp_path, capsys,
                                                                                              monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_orders(landing / "day1.csv", rows=3_000, days=1, securities=3, seed=95)
    only_cp = tmp_path / "only_cp.yaml"
    only_cp.write_text("filter:\n  order_types: [CENTRE_POINT]\n")
    status, printed = run(capsys, landing, data, only_cp)
    assert status == 0 and kept_types(data) == ["CENTRE_POINT"]
    assert printed.splitlines()[-1].startswith("filter: order types CENTRE_POINT; 10:00:00 <= local time < 16:00:00 "
                                               f"(Australia/Sydney); participants: every participant; settings: {only_cp}")
    assert folder_config(data).is_file()

    status, printed = run(capsys, landing, data)  # no --config: the folder's settings, nothing redone
    assert status == 0 and "no run launched" in printed and "ingest" not in printed
    assert "filter: order types CENTRE_POINT;" in printed and "settings: the data folder's, from its last run" in printed
    assert "settings changed" not in printed and kept_types(data) == ["CENTRE_POINT"]

    generate_orders(landing / "day2.csv", rows=1_000, days=1, securities=3, seed=96, start_date=date(2025, 3, 10))
    status, printed = run(capsys, landing, data)  # a new day, still under the folder's filter
    assert status == 0 and "ingest_order_files day2.csv" in printed and kept_types(data) == ["CENTRE_POINT"]

    every = tmp_path / "every.yaml"
    every.write_text("filter:\n  order_types: all\nsize_edges: [5000, 100000]\n")
    status, printed = run(capsys, landing, data, every)
    lines = printed.splitlines()
    assert lines[0] == f"settings changed since the last run on {data.resolve()} (now {every}):"
    assert lines[1].startswith("       filter.order_types: [CENTRE_POINT] -> []: every file is ingested again")
    assert lines[2].startswith("       size_edges: [10000, 50000, 200000, 1000000] -> [5000, 100000]: by_order_size")
    assert status == 0 and kept_types(data) == [] and "filter: order types every type;" in lines[-1]


def test_the_ui_and_a_run_find_the_folders_settings_and_an_explicit_config_wins(tmp_path):
    data = tmp_path / "data"
    given = tmp_path / "given.yaml"
    assert settings_source(None, data) == (None, "the defaults (no --config)")
    assert settings_source(given, data) == (given, str(given))
    folder_config(data).parent.mkdir(parents=True)
    folder_config(data).write_text("filter:\n  order_types: [SWEEP]\n")
    config, source = settings_source(None, data)
    assert config == folder_config(data) and "the data folder's, from its last run" in source
    assert settings_source(given, data)[0] == given


def test_the_code_location_follows_the_folders_settings_unless_a_config_is_named(tmp_path):
    """A UI started on a new folder (no --config, no remembered settings) loads the defaults; once
    `run --config` has put the folder under other settings, a reload of the code location loads
    those, not the defaults that would take the folder back."""
    from orders_assets.glue.definitions import code_location_config, settings_from_environment
    from orders_assets.glue.resources import CONFIG_ENV, DATA_ENV, LANDING_ENV

    data, given = tmp_path / "data", tmp_path / "given.yaml"
    given.write_text("filter:\n  order_types: [LIMIT]\n")
    environment = {LANDING_ENV: str(tmp_path), DATA_ENV: str(data)}
    assert code_location_config(environment) is None
    folder_config(data).parent.mkdir(parents=True)
    folder_config(data).write_text("filter:\n  order_types: [SWEEP]\n")
    assert code_location_config(environment) == str(folder_config(data))
    assert settings_from_environment(environment).order_filter().order_types == ("SWEEP",)
    named = {**environment, CONFIG_ENV: str(given)}
    assert settings_from_environment(named).order_filter().order_types == ("LIMIT",)
