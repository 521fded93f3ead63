"""`orders-assets profile`: the detected machine, the chosen settings, and saving them to reproduce a run."""
import json
from pathlib import Path

import pytest
import yaml

from orders_assets.cli.main import main
from orders_assets.core.machine.hardware import detect_profile


def test_profile_prints_the_machine_and_the_settings(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ORDERS_ASSETS_WORKERS", raising=False)
    assert main(["profile", "--data", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    cores = detect_profile(tmp_path).cores
    assert f"cores            {cores} usable" in text
    assert f"workers          {cores}" in text and "chosen from the machine" in text

    assert main(["profile", "--data", str(tmp_path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["machine"]["cores"] == cores
    assert document["tuning"]["workers"] == cores
    assert document["step_peak_estimate"] <= document["tuning"]["memory_budget"]


def test_saved_settings_load_back_to_the_same_tuning_whatever_the_environment(tmp_path, capsys, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("machine:\n  workers: 1\n  preset: server\nfilter:\n  participants: [P001]\n")
    saved = tmp_path / "effective.yaml"
    assert main(["profile", "--data", str(tmp_path), "--config", str(config), "--json", "--save", str(saved)]) == 0
    first = json.loads(capsys.readouterr().out)["tuning"]
    document = yaml.safe_load(saved.read_text())
    assert document["machine"] == first
    assert document["filter"]["participants"] == ["P001"]

    monkeypatch.setenv("ORDERS_ASSETS_BLOCK_BYTES", str(2 << 20))  # loses to the saved explicit value
    assert main(["profile", "--data", str(tmp_path), "--config", str(saved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tuning"] == first


def test_impossible_settings_are_refused_before_anything_runs(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("machine:\n  workers: 0\n")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("order_id,timestamp,security_code,participant_id,side,order_type,price,"
                                        "quantity\n1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.0,1\n")
    assert main(["profile", "--data", str(tmp_path), "--config", str(config)]) == 2
    assert "workers = 0: at least 1 worker is needed" in capsys.readouterr().err
    assert main(["run", "--landing", str(landing), "--data", str(tmp_path / "data"), "--config", str(config)]) == 2
    assert "workers = 0" in capsys.readouterr().err
    assert not (tmp_path / "data" / "dagster_home").exists()


def test_a_postgres_url_with_a_password_is_refused_with_the_fix_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("ORDERS_ASSETS_POSTGRES_URL", "postgresql://orders:secret@db.example/dagster")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("order_id,timestamp,security_code,participant_id,side,order_type,price,"
                                        "quantity\n1,2025-03-03 10:00:00,BHP,P1,B,CENTRE_POINT,1.0,1\n")
    assert main(["run", "--landing", str(landing), "--data", str(tmp_path / "data")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ORDERS_ASSETS_POSTGRES_URL") and "ORDERS_ASSETS_POSTGRES_PASSWORD" in error
    assert "secret" not in error
    assert not (tmp_path / "data" / "dagster_home" / "dagster.yaml").exists()


def test_run_help_names_every_config_key_the_config_file_reads():
    import subprocess
    import sys

    from orders_assets.cli.main import CONFIG_KEYS
    from orders_assets.glue.config_file import SECTIONS, TOP_LEVEL

    assert set(CONFIG_KEYS) == set(SECTIONS) | set(TOP_LEVEL)
    shown = subprocess.run([sys.executable, "-m", "orders_assets.cli.main", "run", "--help"], capture_output=True,
                           text=True, check=True, env={"COLUMNS": "400", "PATH": ""}).stdout
    assert all(key in shown for key in CONFIG_KEYS) and "layouts" in shown


def test_every_command_and_option_says_what_it_is_for():
    import argparse

    from orders_assets.cli.main import build_parser

    commands = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    described = {choice.dest for choice in commands._choices_actions if choice.help}
    assert described == set(commands.choices) == {"generate", "run", "ui", "materialize", "profile"}
    silent = [f"{name} {option.option_strings[-1]}" for name, command in commands.choices.items()
              for option in command._actions if not option.help]
    assert silent == []


def test_a_data_folder_inside_the_landing_folder_is_refused_before_anything_runs(tmp_path, capsys):
    from orders_assets.cli.main import main
    from orders_assets.core.generate import generate_orders

    landing = tmp_path / "landing"
    generate_orders(landing / "orders.csv", rows=200, days=1, securities=2, seed=3)
    assert main(["run", "--landing", str(landing), "--data", str(landing / "data")]) == 2
    assert "is inside the landing folder" in capsys.readouterr().err
    assert not (landing / "data").exists()



@pytest.mark.parametrize("url", ["folder", "file"])
def test_an_output_folder_inside_the_landing_folder_is_refused_before_anything_runs(tmp_path, capsys, url):
    """Published order sets inside the landing folder would be ingested by the next run as new files."""
    from orders_assets.core.generate import generate_orders

    landing, data, config = tmp_path / "landing", tmp_path / "data", tmp_path / "orders.yaml"
    generate_orders(landing / "orders.csv", rows=200, days=1, securities=2, seed=3)
    published = landing / "published"
    config.write_text(f"output_url: {published if url == 'folder' else published.as_uri()}\n")
    assert main(["run", "--landing", str(landing), "--data", str(data), "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: the output folder ") and error.count("\n") == 1
    assert f"is inside the landing folder {landing}" in error and "set output_url to a folder beside" in error
    assert not data.exists() and sorted(path.name for path in landing.iterdir()) == ["orders.csv"]

def test_a_refused_file_fails_the_command_in_plain_words_until_it_is_mended(tmp_path, capfd, monkeypatch):
    """Exit 1 while a file of the landing folder is refused (contract section 5: 0 when all succeeded),
    the reason with the file and line, no Dagster stack trace; an unchanged refused file is not
    read again, and once it is mended the command succeeds."""
    from orders_assets.core.generate import generate_orders

    landing, data = tmp_path / "landing", tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    generate_orders(landing / "good.csv", rows=1_000, days=1, securities=2, seed=7)
    (landing / "bad.csv").write_text("a,b\n1,2\n")
    command = ["run", "--landing", str(landing), "--data", str(data)]
    assert main(command) == 1
    first = capfd.readouterr()
    assert "REFUSED bad.csv: line 1: missing required column(s) order_id" in first.out
    assert (first.out + first.err).count("Rename the columns or use a layout") == 1  # said once, by the command
    assert "Stack Trace" not in first.err
    assert json.loads((data / "reports" / "summary.json").read_text())["rows_read"] == 1_000

    assert main(command) == 1
    again = capfd.readouterr().out
    assert "REFUSED bad.csv" in again and "no run launched" in again

    (landing / "bad.csv").unlink()
    generate_orders(landing / "bad.csv", rows=500, days=1, securities=2, seed=8)
    assert main(command) == 0
    assert "REFUSED" not in capfd.readouterr().out
    assert json.loads((data / "reports" / "summary.json").read_text())["rows_read"] == 1_500


def test_run_rehash_finds_a_file_corrected_in_place_with_its_old_size_and_time(tmp_path, capfd, monkeypatch):
    """`touch -r`: the identity by name, size and time cannot see the change; --rehash reads the content."""
    import os

    from orders_assets.core.generate import generate_orders
    from orders_assets.core.schema import REPORT_NAMES
    from orders_assets_tests.conftest import assert_report_equals, read_report
    from orders_assets_tests.support.reference import reference_reports

    landing, data = tmp_path / "landing", tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    orders = landing / "orders.csv"
    generate_orders(orders, rows=2_000, days=1, securities=2, seed=9)
    command = ["run", "--landing", str(landing), "--data", str(data)]
    assert main(command) == 0
    before = os.stat(orders)
    text = orders.read_text()
    orders.write_text(text.replace(",CENTRE_POINT,", ",CENTRE_POINX,", 1))  # one kept order corrected away
    os.utime(orders, ns=(before.st_atime_ns, before.st_mtime_ns))
    capfd.readouterr()
    assert main(command) == 0 and "no run launched" in capfd.readouterr().out
    assert main(command + ["--rehash"]) == 0
    assert "ok     ingest_order_files orders.csv" in capfd.readouterr().out
    reference = reference_reports([orders])
    for name in REPORT_NAMES:
        assert_report_equals(read_report(data / "reports", name, "csv"), reference.reports[name], name)
    assert main(command + ["--rehash"]) == 0 and "ingest_order_files" not in capfd.readouterr().out


def test_run_warns_of_a_layout_rule_that_reads_no_file(tmp_path, capfd, monkeypatch):
    from orders_assets.core.generate import generate_orders

    landing, config = tmp_path / "landing", tmp_path / "config.yaml"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    generate_orders(landing / "CME" / "orders.csv", rows=300, days=1, securities=2, seed=10)
    config.write_text("layouts:\n  - {layout: databento_mbo, folder: cme}\n")
    assert main(["run", "--landing", str(landing), "--data", str(tmp_path / "data"), "--config", str(config)]) == 0
    out = capfd.readouterr().out
    assert "warning: layouts[0] {layout: databento_mbo, folder: cme} matches no file" in out
    assert "the sub-folders with order files are CME" in out


def test_run_lists_the_landing_folder_and_plans_the_ingest_once(tmp_path, monkeypatch):
    """The command's warnings, its plan and the runner carrying it out share one listing and one plan;
    the ingest run lists the folder once more, to load its files (a run launched from the UI stands alone)."""
    from orders_assets.core.generate import generate_orders
    from orders_assets.cli import runner
    from orders_assets.core.plan import planner, work
    from orders_assets.core.read import sources

    landing, data = tmp_path / "landing", tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    generate_orders(landing / "orders.csv", rows=2_000, days=1, securities=2, seed=9)
    calls = {"scan_landing": 0, "plan_ingest": 0}

    def counted(module, name):
        real = getattr(module, name)

        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, call)

    counted(sources, "scan_landing")
    counted(work, "scan_landing")
    counted(runner, "scan_landing")
    counted(planner, "plan_ingest")
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    assert (data / "reports" / "summary.json").exists()
    assert calls == {"scan_landing": 2, "plan_ingest": 1}


def test_run_profiles_the_machine_once_for_its_data_folder(tmp_path, monkeypatch):
    """The command, the IO manager and each step all ask for the profile; the process reads it once."""
    from orders_assets.core.plan import settings
    from orders_assets.core.generate import generate_orders

    landing, data = tmp_path / "landing", tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    generate_orders(landing / "orders.csv", rows=2_000, days=1, securities=2, seed=9)
    profiled = []
    real = settings.detect_profile
    monkeypatch.setattr(settings, "detect_profile", lambda data_dir: profiled.append(str(data_dir)) or real(data_dir))
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    assert (data / "reports" / "summary.json").exists()
    assert [folder for folder in profiled if Path(folder).resolve() == data.resolve()] == [str(data.resolve())]


def test_a_run_with_nothing_new_plans_without_importing_dagster_or_numba(tmp_path, monkeypatch):
    """The command's fixed cost (issue 43): a run with nothing new reads its settings, plans and says
    so without Dagster's import (about 0.5 s) or Numba's; a fresh process, as a user starts it."""
    import subprocess
    import sys

    from orders_assets.core.generate import generate_orders

    landing, data = tmp_path / "landing", tmp_path / "data"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    generate_orders(landing / "orders.csv", rows=2_000, days=1, securities=2, seed=9)
    assert main(["run", "--landing", str(landing), "--data", str(data)]) == 0
    code = ("import sys\nfrom orders_assets.cli.main import main\n"
            f"status = main(['run', '--landing', {str(landing)!r}, '--data', {str(data)!r}])\n"
            "print('loaded:', sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'numba'}), status)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "no run launched" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "loaded: [] 0"
