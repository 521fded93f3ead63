"""The Dagster UI's partition status of one asset, timed through dagster-webserver's GraphQL.

The query is the one the asset's partitions page sends (`PartitionHealthQuery` in Dagster's
ui-core `usePartitionHealthData.tsx`, as shipped in dagster-webserver's bundle): the keys of each
dimension and `assetPartitionStatuses`. The webserver runs on 127.0.0.1 only, over the project's
workspace.yaml, and is always stopped (its whole process group: it starts a code server of its own).
"""
import json
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test servers' helpers, from the repository
from orders_assets_tests.support.loopback import free_port, stop_group  # noqa: E402

PARTITION_HEALTH_QUERY = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
        ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
        ... on MultiPartitionStatuses {
          primaryDimensionName
          ranges {
            primaryDimStartKey primaryDimEndKey primaryDimStartTime primaryDimEndTime
            secondaryDim {
              ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
              ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
            }
          }
        }
      }
    }
  }
}
"""

LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "\
                  "locationOrLoadError { __typename ... on PythonError { message } } } } } }"

HOST = "127.0.0.1"


def graphql(port: int, query: str, variables: dict | None = None, timeout: float = 60) -> tuple[dict, int]:
    """The `data` of one GraphQL answer and the answer's size in bytes; GraphQL errors raise."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"http://{HOST}:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    answer = json.loads(raw)
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {json.dumps(answer['errors'])[:2000]}")
    return answer["data"], len(raw)


@contextmanager
def running_webserver(webserver: Path, workspace: Path, env: dict, log: Path, ready_timeout: float):
    """dagster-webserver on a free port of 127.0.0.1, yielded once its code locations have loaded."""
    port = free_port()
    with open(log, "w") as log_file:
        server = subprocess.Popen([webserver, "-w", workspace.name,
                                   "-h", HOST, "-p", str(port)], cwd=workspace.parent, env=env,
                                  stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_loaded(server, port, ready_timeout, log)
            yield port
        finally:
            stop_group(server)


def wait_until_loaded(server: subprocess.Popen, port: int, seconds: float, log: Path) -> None:
    """Until every code location reports LOADED; a location that failed to load raises with its error."""
    deadline = time.monotonic() + seconds
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with {server.returncode}: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"dagster-webserver did not load its workspace in {seconds:.0f} s (log: {log})")
        try:
            data, _ = graphql(port, LOCATIONS_QUERY, timeout=10)
        except OSError:
            time.sleep(0.5)
            continue
        entries = data["workspaceOrError"].get("locationEntries") or []
        if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
            failed = [entry for entry in entries if entry["locationOrLoadError"]["__typename"] == "PythonError"]
            if failed:
                raise RuntimeError(f"code location failed to load: {failed[0]['locationOrLoadError']['message'][:2000]}")
            return
        time.sleep(0.5)


def materialized_count(node: dict) -> dict:
    """Materialized and failed keys in a multi-partition status answer: each range of the primary
    dimension times the secondary keys listed for it."""
    statuses = node["assetPartitionStatuses"]
    if "ranges" not in statuses or "primaryDimensionName" not in statuses:
        return {"materialized": len(statuses.get("materializedPartitions", [])),
                "failed": len(statuses.get("failedPartitions", []))}
    keys = {dimension["name"]: dimension["partitionKeys"] for dimension in node["partitionKeysByDimension"]}
    position = {key: index for index, key in enumerate(keys[statuses["primaryDimensionName"]])}
    counts = {"materialized": 0, "failed": 0}
    for part in statuses["ranges"]:
        width = position[part["primaryDimEndKey"]] - position[part["primaryDimStartKey"]] + 1
        counts["materialized"] += width * len(part["secondaryDim"].get("materializedPartitions", []))
        counts["failed"] += width * len(part["secondaryDim"].get("failedPartitions", []))
    return counts


def time_partition_status(webserver: Path, workspace: Path, env: dict, asset: str, log: Path, ready_timeout: float,
                          query_timeout: float) -> dict:
    """Start the webserver, then time the partitions page's status query of `asset` twice (cold, warm)."""
    figures: dict = {}
    started = time.perf_counter()
    with running_webserver(webserver, workspace, env, log, ready_timeout) as port:
        figures["startup_seconds"] = time.perf_counter() - started
        for attempt in ("cold", "warm"):
            began = time.perf_counter()
            data, size = graphql(port, PARTITION_HEALTH_QUERY, {"assetKey": {"path": [asset]}}, query_timeout)
            figures[f"{attempt}_seconds"] = time.perf_counter() - began
            figures[f"{attempt}_response_bytes"] = size
        node = data["assetNodeOrError"]
        if "assetPartitionStatuses" not in node:
            raise RuntimeError(f"no asset node {asset!r} in the webserver's answer: {json.dumps(data)[:500]}")
        figures.update(materialized_count(node))
    return figures
