"""The Dagster UI in headless Chromium: the webserver on 127.0.0.1 over an instance holding real
materializations, driven through chromedriver with the tiny WebDriver client of orders_assets_tests.support.webdriver.

Chromium and chromedriver are Debian's packages; the session fixture installs them when missing (CI runs as
root on a fresh Debian machine) and fails, never skips, when it cannot. Screenshots are saved under the test's
temporary folder, and copied to $ORDERS_ASSETS_SCREENSHOTS when it is set (how docs/images/ is refreshed).
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from orders_assets.core.generate import generate_orders
from orders_assets.core.schema import REPORT_NAMES
from orders_assets.resources import DATA_ENV, LANDING_ENV
from orders_assets_tests.dagster.test_commands import free_port, graphql, wait_until_serving
from orders_assets_tests.support.reference import reference_reports
from orders_assets_tests.support.webdriver import XPATH, Session, start_chromedriver, wait_until

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
REPOSITORY = Path(__file__).parents[2]
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


class DagsterUI(NamedTuple):
    """The webserver's port, and the sample its instance was built from (for the independent figures)."""

    port: int
    sample: Path

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"


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


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    """`orders-assets run` on a small generated sample, then dagster-webserver on 127.0.0.1 over its instance."""
    root = tmp_path_factory.mktemp("browser")
    landing, data = root / "landing", root / "data"
    landing.mkdir()
    generate_orders(landing / "sample.csv", rows=20_000, days=2, securities=5, seed=3)
    env = {key: value for key, value in os.environ.items()
           if key != "DAGSTER_HOME" and not key.startswith("ORDERS_ASSETS_")}
    run = subprocess.run([BIN / "orders-assets", "run", "--landing", landing, "--data", data],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    env.update({"DAGSTER_HOME": str(data / "dagster_home"), LANDING_ENV: str(landing), DATA_ENV: str(data)})
    port = free_port()
    with open(root / "webserver.log", "w") as log:
        server = subprocess.Popen([BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1",
                                   "-p", str(port)], cwd=REPOSITORY, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(server, port)
        graphql(port, "mutation { setNuxSeen }")  # the "Join the Dagster community" dialog would cover the page
        yield DagsterUI(port, landing / "sample.csv")
    finally:
        stop(server)


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


def stop(process: subprocess.Popen) -> None:
    """Terminate a server this module started, killing it if it does not exit."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


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


def metadata_cell(session: Session, key: str) -> dict:
    """The value cell of the metadata table's row `key` on an asset page."""
    return session.find(f"//tr[td[1][normalize-space()='{key}']]/td[last()]", XPATH)


def test_the_asset_graph_draws_the_report_assets(webserver, browser, tmp_path):
    nodes = graphql(webserver.port, "{ assetNodes { groupName } }")["assetNodes"]
    # The global lineage page draws each group collapsed; ?expanded= opens them (ids as Dagster 1.13 spells them).
    expanded = ",".join(sorted({f"global@global:{node['groupName']}" for node in nodes}))
    browser.open(f"{webserver.address}/asset-groups?expanded={expanded}")
    materialized = set(REPORT_NAMES) | {"summary", "filtered_orders", "order_files"}
    drawn = wait_until(lambda: drawn_nodes(browser), "every asset's node in the global lineage, with its status",
                       done=lambda nodes: all(nodes.get(name) == MATERIALIZED for name in materialized))
    assert "landing_orders" in drawn
    save_screenshot(browser, tmp_path, "asset_graph.png")


def test_the_report_asset_page_shows_its_metadata_and_plot(webserver, browser, tmp_path):
    expected = reference_reports([webserver.sample]).reports[REPORT]
    browser.open(f"{webserver.address}/assets/{REPORT}")
    preview = wait_until(lambda: browser.text(metadata_cell(browser, "preview")),
                         f"the latest materialization's preview on the {REPORT} page")
    assert browser.text(metadata_cell(browser, "rows")) == str(len(expected))
    assert browser.text(metadata_cell(browser, "orders")) == str(expected["orders"].sum())
    header, *rows = [line.split() for line in preview.splitlines()]
    assert header[:4] == ["hour", "orders", "quantity", "value"]
    assert [row[:3] for row in rows] == expected[["hour", "orders", "quantity"]].astype(str).values.tolist()
    browser.execute("arguments[0].scrollIntoView({block: 'start'})",
                    browser.find("//tr[td[1][normalize-space()='rows']]/ancestor::table", XPATH))
    save_screenshot(browser, tmp_path, "report_asset_page.png")

    # Dagster inlines markdown metadata under 1,000 characters; a PNG is longer, so the UI links it to a dialog.
    browser.click(browser.find("//tr[td[1][normalize-space()='plot']]/td[last()]//a", XPATH))
    plot = wait_until(lambda: browser.find(f"[role=dialog] img[src^='{PLOT_PREFIX}']"),
                      "the plot (metadata 'plot', a markdown image) in the metadata dialog")
    assert browser.attribute(plot, "alt") == REPORT
    size = wait_until(lambda: browser.execute("return arguments[0].complete && [arguments[0].naturalWidth, "
                                              "arguments[0].naturalHeight]", plot),
                      "the plot image decoded")
    assert min(size) > 0
    save_screenshot(browser, tmp_path, "report_asset_plot.png")
