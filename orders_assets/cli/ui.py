"""`orders-assets ui`: the Dagster UI over the folders of `orders-assets run`, in one command.

It starts what `dagster dev` starts (the webserver and the daemon, which runs the sensor and the
backfills) on 127.0.0.1, with what `run` uses: the instance in `<data>/dagster_home` (or
DAGSTER_HOME), the same settings (`--config`, passed on as ORDERS_ASSETS_CONFIG), the same event
batching. Everything a user can get wrong (a missing landing folder or config file, a config that
cannot work, a port in use) is refused with its path or number before anything starts. Ctrl-C or
SIGTERM stops the webserver and the daemon, then the command exits 0.

`dagster dev`'s own entry point is not called: it warns on every start that `dg dev` supersedes it,
a warning the user cannot act on (`dg` is not installed). Its implementation is, with a workspace
file of its own in the instance folder naming the code location `orders_assets`, as workspace.yaml does.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

from orders_assets.glue.resources import CONFIG_ENV, DATA_ENV, LANDING_ENV

DEFAULT_PORT = 3000
HOST = "127.0.0.1"
WORKSPACE_YAML = """\
# Written by orders-assets ui: the code location of the project, as the repository's workspace.yaml.
load_from:
  - python_module:
      module_name: orders_assets.glue.definitions
      location_name: orders_assets
"""


def ui_problem(landing: Path, data: Path, config: Path | None, port: int) -> str | None:
    """Why the UI cannot start with these arguments, or None (checked before anything starts)."""
    from orders_assets.glue.config_file import load_settings_overrides
    from orders_assets.core.store.disk import data_folder_problem
    from orders_assets.core.store.folders import folders_problem

    if not landing.is_dir():
        return f"landing folder {landing} does not exist: create it, or name the folder your files land in"
    if config is not None and not config.is_file():
        return f"config file {config} does not exist: give the file `orders-assets run --config` reads, or leave --config out"
    output_url = load_settings_overrides(config).get("output_url")  # a config that cannot be read: said by main
    problem = folders_problem(landing, data, output_url) or data_folder_problem(data)
    if problem:
        return problem
    if not port_is_free(port):
        return f"port {port} on {HOST} is in use (another Dagster UI?): stop it, or choose another with --port"
    return None


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def ui_environment(landing: Path, data: Path, config: Path | None, environment: dict[str, str]) -> dict[str, str]:
    """The variables the webserver, the daemon and their code servers read: the folders, the config
    file, the instance and the event batching of `run`, and the sensor's tick and settle time for
    someone waiting at the screen (sensors.UI_INTERVAL_SECONDS, UI_SETTLE_SECONDS; set ones win)."""
    from orders_assets.platform.instance import BATCHING_ENVIRONMENT
    from orders_assets.glue.sensors import INTERVAL_ENV, SETTLE_ENV, UI_INTERVAL_SECONDS, UI_SETTLE_SECONDS

    values = {**BATCHING_ENVIRONMENT, **environment, LANDING_ENV: str(landing.resolve()), DATA_ENV: str(data.resolve())}
    values.setdefault("DAGSTER_HOME", str((data / "dagster_home").resolve()))
    values.setdefault(INTERVAL_ENV, str(UI_INTERVAL_SECONDS))  # a user waits: stages move on within seconds
    values.setdefault(SETTLE_ENV, str(UI_SETTLE_SECONDS))
    if config is not None:
        values[CONFIG_ENV] = str(config.resolve())
    else:
        values.pop(CONFIG_ENV, None)  # the command line decides, not a variable left from another session
    return values


def serve_ui(landing: Path, data: Path, config: Path | None, port: int) -> int:
    """Check, prepare the instance, then serve until Ctrl-C or SIGTERM; the exit status."""
    from orders_assets.glue.config_file import load_settings_overrides
    from orders_assets.core.errors import OrdersAssetsError
    from orders_assets.core.plan.settings import Settings

    problem = ui_problem(landing, data, config, port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    data.mkdir(parents=True, exist_ok=True)
    try:  # the code location would fail to load with the same error: say it here, with the file
        settings = Settings(landing_dir=str(landing.resolve()), data_dir=str(data.resolve()),
                                  **load_settings_overrides(config))
        settings.validate()
        settings.tuning()
    except (OrdersAssetsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    os.environ.update(ui_environment(landing, data, config, dict(os.environ)))
    home = Path(os.environ["DAGSTER_HOME"])
    workspace = _prepare_instance(home)
    print(f"Dagster UI on http://{HOST}:{port} (webserver and daemon: the sensor watches {landing}); "
          f"instance {home}; Ctrl-C stops it", flush=True)
    # Ctrl-C's KeyboardInterrupt even when started in the background (where SIGINT comes ignored);
    # dagster dev maps SIGTERM to the same handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _dagster_dev(workspace, port)
    print("Dagster UI stopped", flush=True)
    return 0


def _prepare_instance(home: Path) -> Path:
    from orders_assets.core.store.atomic import atomic_write_bytes
    from orders_assets.platform.instance import ensure_instance_folder

    ensure_instance_folder(home)
    workspace = home / "workspace.yaml"
    atomic_write_bytes(workspace, WORKSPACE_YAML.encode())
    return workspace


def _dagster_dev(workspace: Path, port: int) -> None:
    from dagster._cli.dev import dev_command_impl
    from dagster_shared.cli import WorkspaceOpts

    dev_command_impl(code_server_log_level="warning", log_level="info", log_format="colored", port=str(port),
                     host=HOST, use_legacy_code_server_behavior=False, shutdown_pipe=None, verbose=False,
                     workspace_opts=WorkspaceOpts(workspace=[str(workspace)]))
