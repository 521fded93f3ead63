"""The Dagster UI in headless Chromium, as a user meets it: `orders-assets ui` (the webserver and the
daemon) on 127.0.0.1 over empty folders, files dropped into the landing folder and taken by the
sensor, a backfill launched with the UI's own GraphQL mutation, and pages read in the browser, driven
through chromedriver with the tiny WebDriver client of orders_assets_tests.support.webdriver.

The tests share one UI and run in the file's order, as a session would: the first drop, the graph and
a report's page, the backfill and one key's page, a second drop with ragged keys and the grid, the
filter changed with a config file and the code location reloaded, then the clean stop. Chromium and chromedriver are Debian's packages; the session fixture installs them when
missing (CI runs as root on a fresh Debian machine) and fails, never skips, when it cannot.
Screenshots are saved under the test's temporary folder, and copied to $ORDERS_ASSETS_SCREENSHOTS when
it is set (how docs/images/ is refreshed).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest

from orders_assets.core.generate import ORDER_TYPES, generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.glue.sensors import INTERVAL_ENV
from orders_assets_tests.conftest import assert_report_equals, read_report
from orders_assets_tests.dagster.test_commands import graphql, wait_until_serving
from orders_assets_tests.support.loopback import free_port, group_alive_after, stop, stop_group
from orders_assets_tests.support.reference import reference_reports
from orders_assets_tests.support.webdriver import XPATH, Session, start_chromedriver, wait_until

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_PACKAGES = ("chromium", "chromium-driver")
SCREENSHOTS_ENV = "ORDERS_ASSETS_SCREENSHOTS"
PLOT_PREFIX = "data:image/png;base64,"
REPORT = "by_time_of_day"
MATERIALIZED = "rgb(46, 204, 129)"
"""Border of a node whose latest materialization succeeded (Dagster 1.13's accentGreen)."""
NODES_SCRIPT = """return Object.fromEntries([...document.querySelectorAll('foreignObject *')]
    .filter(label => label.childElementCount === 0 && label.textContent.trim())
    .map(label => [label.textContent.trim(), getComputedStyle(label.parentElement).borderTopColor]))"""
PARTITION_VALUE = "2"
"""The value's cell in a partition page's metadata rows."""
GRID_QUERY = """{ assetNodeOrError(assetKey: {path: ["filtered_orders"]}) { ... on AssetNode { assetPartitionStatuses {
    ... on MultiPartitionStatuses { ranges { primaryDimStartKey primaryDimEndKey
        secondaryDim { ... on DefaultPartitionStatuses { materializedPartitions } } } } } } } }"""
"""What the UI's partition grid of filtered_orders is drawn from: materialized securities per run of dates."""
SENSOR_TICKS = """{ sensorOrError(sensorSelector: {repositoryLocationName: "orders_assets", repositoryName: "__repository__",
    sensorName: "landing_folder_sensor"}) { ... on Sensor { sensorState { ticks(limit: 1) { status skipReason timestamp } } } } }"""
ALL_ORDERS_CONFIG = "# all_orders.yaml: every order type, still 10:00 to 16:00 exchange time\nfilter: {order_types: all}\n"
"""The README's "change the filter" config file."""


class DagsterUI(NamedTuple):
    """The running `orders-assets ui`: its port, folders, output log and process."""

    port: int
    landing: Path
    data: Path
    log: Path
    server: subprocess.Popen
    dropped: "DroppedFiles"

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self, folder: Path, name: str, **generated) -> None:
        """Generate a file beside the landing folder, move it in whole, and wait for the sensor's runs
        (ingest, partitions, reports) to finish."""
        reports_before = self.successful_runs("build_reports")
        generate_orders(folder / name, **generated)
        shutil.move(folder / name, self.landing / name)
        self.dropped.paths.append(self.landing / name)
        wait_until(lambda: self.successful_runs("build_reports") > reports_before and not self.runs_in_flight(),
                   f"the sensor's runs for {name}", timeout=240, interval=2)

    def runs(self) -> list[dict]:
        results = graphql(self.port, "{ runsOrError { ... on Runs { results { jobName status } } } }")
        runs = results["runsOrError"]["results"]
        assert not [run for run in runs if run["status"] == "FAILURE"], runs
        return runs

    def successful_runs(self, job: str) -> int:
        return sum(run["jobName"] == job and run["status"] == "SUCCESS" for run in self.runs())

    def runs_in_flight(self) -> bool:
        return any(run["status"] not in ("SUCCESS", "FAILURE", "CANCELED") for run in self.runs())


@pytest.fixture(scope="session")
def chromium(request) -> tuple[Path, Path]:
    """Chromium and chromedriver from Debian's packages, installed with apt-get when missing; the install's
    duration is printed in the test run's output."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        seconds = install_chromium()
        plugins = request.config.pluginmanager
        reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\ninstalled {' '.join(CHROMIUM_PACKAGES)} in {seconds:.1f} s")
    return CHROMIUM, CHROMEDRIVER


def install_chromium() -> float:
    """apt-get update and install, returning the seconds taken; fails with the reason and the fix when that
    cannot work here."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    fix = (f"install them first (as root: apt-get update && apt-get install -y --no-install-recommends "
           f"{' '.join(CHROMIUM_PACKAGES)})")
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.fail(f"the browser tests need {', '.join(missing)} and there is no apt-get to install them: {fix}")
    if os.geteuid() != 0:
        pytest.fail(f"the browser tests need {', '.join(missing)}; installing needs root, this is uid {os.geteuid()}: "
                    f"{fix}")
    started = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in ([apt, "update"], [apt, "install", "-y", "--no-install-recommends", *CHROMIUM_PACKAGES]):
        result = subprocess.run(step, capture_output=True, text=True, env=env, timeout=1200)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(step)} exited with {result.returncode}:\n{result.stderr[-3000:]}")
    still_missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if still_missing:
        pytest.fail(f"apt-get installed {' '.join(CHROMIUM_PACKAGES)} but {', '.join(still_missing)} is missing")
    return time.monotonic() - started


class DroppedFiles:
    """The files dropped into the landing folder so far (the independent reference's inputs)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """`orders-assets ui` over an empty landing folder; a first file dropped and taken by the sensor's three runs."""
    root = tmp_path_factory.mktemp("ui")
    landing, data = root / "landing", root / "data"
    landing.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ORDERS_ASSETS_") and key != "DAGSTER_HOME"}
    env[INTERVAL_ENV] = "3"
    port = free_port()
    log = root / "ui.log"
    with open(log, "w") as output:
        server = subprocess.Popen([BIN / "orders-assets", "ui", "--landing", landing, "--data", data,
                                   "--port", str(port)], cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    session = DagsterUI(port, landing, data, log, server, DroppedFiles())
    try:
        wait_until_serving(server, port)
        locations = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
        assert locations["workspaceOrError"]["locationEntries"] == [{"name": "orders_assets", "loadStatus": "LOADED"}]
        graphql(port, "mutation { setNuxSeen }")  # the "Join the Dagster community" dialog would cover the page
        session.drop(root, "first.csv", rows=6_000, days=2, securities=3, seed=6)
        yield session
    finally:
        stop_group(server, grace_seconds=60)


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    """One headless Chromium session through chromedriver on 127.0.0.1, ended after the module's tests."""
    binary, chromedriver = chromium
    port = free_port()
    driver = start_chromedriver(chromedriver, port, tmp_path_factory.mktemp("chromedriver") / "chromedriver.log")
    try:
        session = Session.start(f"http://127.0.0.1:{port}", binary)
        try:
            yield session
        finally:
            session.close()
    finally:
        stop(driver)


def save_screenshot(session: Session, folder: Path, name: str) -> Path:
    """Screenshot to `folder`/`name`, and a copy under $ORDERS_ASSETS_SCREENSHOTS when that is set."""
    session.settle()
    path = session.screenshot(folder / name)
    if os.environ.get(SCREENSHOTS_ENV):
        target = Path(os.environ[SCREENSHOTS_ENV])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / name)
    return path


def drawn_nodes(session: Session) -> dict[str, str]:
    """Each asset node drawn in the graph (HTML inside the graph's SVG foreignObjects): its name and the
    colour of its box's border, which turns from grey to the status colour once the node's status has loaded."""
    return session.execute(NODES_SCRIPT)


def metadata_cell(session: Session, key: str, cell: str = "last()") -> dict:
    """The value cell of the metadata table's row `key`: the last on an asset's page (after the
    time it was recorded), the second on a partition's (a copy button follows it)."""
    return session.find(f"//tr[td[1][normalize-space()='{key}']]/td[{cell}]", XPATH)


def grid_cells(port: int) -> set[str]:
    """The (date|security) cells the UI's partition grid of filtered_orders shows materialized."""
    ranges = graphql(port, GRID_QUERY)["assetNodeOrError"]["assetPartitionStatuses"]["ranges"]
    dates = graphql(port, '{ assetNodeOrError(assetKey: {path: ["filtered_orders"]}) '
                          "{ ... on AssetNode { partitionKeysByDimension { name partitionKeys } } } }")
    ordered = next(dimension["partitionKeys"] for dimension in
                   dates["assetNodeOrError"]["partitionKeysByDimension"] if dimension["name"] == "date")
    cells = set()
    for run in ranges:
        span = ordered[ordered.index(run["primaryDimStartKey"]):ordered.index(run["primaryDimEndKey"]) + 1]
        cells |= {f"{day}|{security}" for day in span for security in run["secondaryDim"]["materializedPartitions"]}
    return cells


def cells_with_data(reference) -> dict[str, tuple[int, int, Decimal]]:
    """Each (date|security) key of the independent reference with its orders, quantity and exact value."""
    daily = reference.reports["timeseries_daily"]
    return {f"{row.trade_date}|{row.security_code}": (row.orders, row.quantity, Decimal(str(row.value)))
            for row in daily.itertuples()}


def test_the_sensor_takes_the_first_dropped_file_to_reports_equal_to_the_reference(ui):
    runs = {run["jobName"]: run["status"] for run in ui.runs()}
    assert runs == {"ingest_order_files": "SUCCESS", "assemble_order_partitions": "SUCCESS",
                    "build_reports": "SUCCESS"}
    reference = reference_reports(ui.dropped.paths)
    for name in REPORT_NAMES:
        assert_report_equals(read_report(ui.data / "reports", name, "csv"), reference.reports[name], name)


def test_the_asset_graph_draws_the_report_assets(ui, browser, tmp_path):
    nodes = graphql(ui.port, "{ assetNodes { groupName } }")["assetNodes"]
    # The global lineage page draws each group collapsed; ?expanded= opens them (ids as Dagster 1.13 spells them).
    expanded = ",".join(sorted({f"global@global:{node['groupName']}" for node in nodes}))
    browser.open(f"{ui.address}/asset-groups?expanded={expanded}")
    materialized = set(REPORT_NAMES) | {"summary", "filtered_orders", "order_files"}
    drawn = wait_until(lambda: drawn_nodes(browser), "every asset's node in the global lineage, with its status",
                       done=lambda nodes: all(nodes.get(name) == MATERIALIZED for name in materialized))
    assert "landing_orders" in drawn
    save_screenshot(browser, tmp_path, "asset_graph.png")


def test_the_report_asset_page_shows_its_metadata_and_plot(ui, browser, tmp_path):
    expected = reference_reports(ui.dropped.paths).reports[REPORT]
    browser.open(f"{ui.address}/assets/{REPORT}")
    preview = wait_until(lambda: browser.text(metadata_cell(browser, "preview")),
                         f"the latest materialization's preview on the {REPORT} page")
    assert browser.text(metadata_cell(browser, "rows")) == str(len(expected))
    assert browser.text(metadata_cell(browser, "orders")) == str(expected["orders"].sum())
    header, *rows = [line.split() for line in preview.splitlines()]
    assert header[:4] == ["hour", "orders", "quantity", "value"]
    assert [row[:3] for row in rows] == [[f"{int(value):,}" for value in row]  # figures as the page writes them
                                         for row in expected[["hour", "orders", "quantity"]].values.tolist()]
    browser.execute("arguments[0].scrollIntoView({block: 'start'})",
                    browser.find("//tr[td[1][normalize-space()='rows']]/ancestor::table", XPATH))
    save_screenshot(browser, tmp_path, "report_asset_page.png")

    # Dagster inlines markdown metadata under 1,000 characters; a PNG is longer, so the UI links it to a dialog.
    browser.click_found("//tr[td[1][normalize-space()='plot']]/td[last()]//a", XPATH, "a click on the plot's link")
    plot = wait_until(lambda: browser.find(f"[role=dialog] img[src^='{PLOT_PREFIX}']"),
                      "the plot (metadata 'plot', a markdown image) in the metadata dialog")
    assert browser.attribute(plot, "alt") == REPORT
    size = wait_until(lambda: browser.execute("return arguments[0].complete && [arguments[0].naturalWidth, "
                                              "arguments[0].naturalHeight]", plot),
                      "the plot image decoded")
    assert min(size) > 0
    save_screenshot(browser, tmp_path, "report_asset_plot.png")


def test_a_backfill_from_the_ui_gives_each_key_its_own_figures_on_its_page(ui, browser, tmp_path):
    """The UI's own mutation backfills the file's 2 dates x 3 securities; the daemon runs it; each key's
    page then shows its own figures, those of the independent reference."""
    expected = cells_with_data(reference_reports(ui.dropped.paths))
    assert len(expected) == 6
    launched = graphql(ui.port, "mutation { launchPartitionBackfill(backfillParams: {partitionNames: "
                                f"{json.dumps(sorted(expected))}, assetSelection: [{{path: [\"filtered_orders\"]}}]}}) "
                                "{ __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }")
    backfill = launched["launchPartitionBackfill"]
    assert backfill["__typename"] == "LaunchBackfillSuccess", backfill
    status = f'{{ partitionBackfillOrError(backfillId: "{backfill["backfillId"]}") {{ ... on PartitionBackfill {{ status }} }} }}'
    finished = wait_until(lambda: graphql(ui.port, status)["partitionBackfillOrError"]["status"], "the backfill",
                          done=lambda state: state not in ("REQUESTED", "CANCELING"), timeout=240, interval=2)
    assert finished in ("COMPLETED", "COMPLETED_SUCCESS"), finished
    key = sorted(expected)[-1]
    orders, quantity, value = expected[key]
    browser.open(f"{ui.address}/assets/filtered_orders?view=partitions&partition={urllib.parse.quote(key)}")
    shown = wait_until(lambda: browser.text(metadata_cell(browser, "dagster/row_count", PARTITION_VALUE)), f"{key}'s figures on its page")
    assert shown == str(orders)
    assert browser.text(metadata_cell(browser, "quantity", PARTITION_VALUE)) == str(quantity)
    assert Decimal(browser.text(metadata_cell(browser, "value", PARTITION_VALUE))) == value
    assert browser.text(metadata_cell(browser, "stored_in", PARTITION_VALUE)).endswith("orders.parquet")
    events = browser.find("//button[contains(., 'View all historical events')]", XPATH)
    assert browser.text(events).endswith("(2)")  # the sensor's materialization, then the backfill's
    save_screenshot(browser, tmp_path, "partition_page.png")


def test_one_key_launched_as_a_run_is_materialized_and_its_page_counts_it(ui, browser, tmp_path):
    """The README's "one key": launched as the partition's own Materialize launches it, a run of the one
    key (not a backfill, which waits for Dagster's 30-s backfill loop); it succeeds and the key's page
    counts one more materialization. The seconds it took are printed (docs/performance.md), not asserted."""
    key = sorted(cells_with_data(reference_reports(ui.dropped.paths)))[0]
    date_key, security = key.split("|")
    started = time.monotonic()
    launched = graphql(ui.port, 'mutation { launchRun(executionParams: {selector: {repositoryLocationName: '
                                '"orders_assets", repositoryName: "__repository__", jobName: "__ASSET_JOB", '
                                'assetSelection: [{path: ["filtered_orders"]}]}, executionMetadata: {tags: ['
                                f'{{key: "dagster/partition", value: "{key}"}}, '
                                f'{{key: "dagster/partition/date", value: "{date_key}"}}, '
                                f'{{key: "dagster/partition/security", value: "{security}"}}]}}}}) '
                                "{ __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }")
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    status = f'{{ runOrError(runId: "{launched["launchRun"]["run"]["runId"]}") {{ ... on Run {{ status }} }} }}'
    finished = wait_until(lambda: graphql(ui.port, status)["runOrError"]["status"], "the one key's run",
                          done=lambda state: state in ("SUCCESS", "FAILURE", "CANCELED"), timeout=120, interval=0.5)
    assert finished == "SUCCESS"
    print(f"one key as a run: {time.monotonic() - started:.1f} s from the launch to its success")
    browser.open(f"{ui.address}/assets/filtered_orders?view=partitions&partition={urllib.parse.quote(key)}")
    events = "//button[contains(., 'View all historical events')]"
    wait_until(lambda: browser.text(browser.find(events, XPATH)),  # found again each time: the page re-renders it
               f"{key}'s events counted: the sensor's, the backfill's, then this run's",
               done=lambda text: text.endswith("(3)"))
    save_screenshot(browser, tmp_path, "one_key_run.png")


def test_a_ragged_drop_lands_and_the_grid_shows_exactly_the_cells_with_data(ui, browser, tmp_path):
    """A second file over two new dates where a few securities have no rows on a day (holes inside the
    keys' rectangle): the sensor's runs land and the grid's materialized cells are exactly those with data."""
    ui.drop(tmp_path, "second.csv", rows=80, days=2, securities=5, seed=0, start_date=date(2025, 3, 5))
    expected = cells_with_data(reference_reports(ui.dropped.paths))
    second = {key for key in expected if key >= "2025-03-05"}
    securities = {key.split("|")[1] for key in expected}
    assert len(second) < 2 * len(securities)  # holes on the new dates, or the test shows nothing
    assert grid_cells(ui.port) == set(expected)
    browser.open(f"{ui.address}/assets/filtered_orders?view=partitions")
    counts = f"Materialized ({len(expected)})"
    wait_until(lambda: browser.execute("return document.body.innerText"), "the grid's counts",
               done=lambda text: counts in text and f"Missing ({4 * len(securities) - len(expected)})" in text)
    save_screenshot(browser, tmp_path, "partition_grid.png")


def test_a_filter_changed_with_a_config_file_is_followed_after_the_code_location_reloads(ui, browser, tmp_path):
    """The README's "change the filter" while the UI runs: `orders-assets run --config all_orders.yaml`
    over the same folders says what changed and rebuilds the reports with every order type; the UI's
    sensor, loaded under the old filter, does not take the folder back but says to reload; after the
    Deployment page's Reload it is under the new filter (nothing new to do) and the summary's page
    shows it."""
    config = tmp_path / "all_orders.yaml"
    config.write_text(ALL_ORDERS_CONFIG)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ORDERS_ASSETS_") and key != "DAGSTER_HOME"}
    ran = subprocess.run([BIN / "orders-assets", "run", "--landing", ui.landing, "--data", ui.data, "--config", config],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "settings changed since the last run" in ran.stdout and "filter.order_types" in ran.stdout, ran.stdout
    reference = reference_reports(ui.dropped.paths, order_types=ORDER_TYPES)
    for name in REPORT_NAMES:
        assert_report_equals(read_report(ui.data / "reports", name, "csv"), reference.reports[name], name)

    ran_at = time.time()
    wait_until(lambda: sensor_tick_after(ui.port, ran_at), "a sensor tick after the command",
               done=lambda tick: bool(tick) and "Reload the code location" in (tick["skipReason"] or ""),
               timeout=60, interval=1)
    browser.open(f"{ui.address}/locations")
    wait_until(lambda: browser.find("//button[normalize-space()='Reload']", XPATH), "the Reload button")
    runs_before = len(ui.runs())
    reloaded_at = time.time()
    browser.click_found("//button[normalize-space()='Reload']", XPATH, "a click on the Reload button")
    tick = wait_until(lambda: sensor_tick_after(ui.port, reloaded_at), "a sensor tick after the reload",
                      done=lambda tick: bool(tick) and (tick["skipReason"] or "").startswith("nothing new"),
                      timeout=60, interval=1)
    assert tick["status"] == "SKIPPED", tick
    assert len(ui.runs()) == runs_before  # reloaded under the folder's new settings: nothing undone, nothing redone
    assert json.loads((ui.data / "reports" / "summary.json").read_text())["order_filter"]["order_types"] == []

    browser.open(f"{ui.address}/assets/summary")
    shown = wait_until(lambda: browser.text(metadata_cell(browser, "order_filter")), "the summary's filter")
    assert json.loads(shown)["order_types"] == [], shown  # `all`: no order type left out
    browser.execute("arguments[0].scrollIntoView({block: 'center'})",
                    browser.find("//tr[td[1][normalize-space()='order_filter']]", XPATH))
    save_screenshot(browser, tmp_path, "filter_changed.png")


def sensor_tick_after(port: int, since: float) -> dict | None:
    """The landing sensor's latest tick if it started after `since` (epoch seconds), else None."""
    ticks = graphql(port, SENSOR_TICKS)["sensorOrError"]["sensorState"]["ticks"]
    return ticks[0] if ticks and ticks[0]["timestamp"] > since else None


def test_the_ui_stops_cleanly_and_printed_no_warning(ui):
    """SIGTERM stops every process `orders-assets ui` started, exit status 0, and it printed nothing the
    user cannot act on."""
    os.kill(ui.server.pid, signal.SIGTERM)
    ui.server.wait(timeout=90)
    assert not group_alive_after(ui.server.pid, seconds=30), "the webserver, the daemon or a code server outlived it"
    output = ui.log.read_text()
    assert ui.server.returncode == 0, output[-3000:]
    assert f"Dagster UI on http://127.0.0.1:{ui.port}" in output and output.rstrip().endswith("Dagster UI stopped")
    assert "Warning" not in output, [line for line in output.splitlines() if "Warning" in line]
    assert (ui.data / "dagster_home" / "dagster.yaml").is_file()
