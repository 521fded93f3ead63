"""Whether a landing folder, a data folder and an output root can work together: none inside
another (a run would read its own outputs as input, or write into what it reads), said with the fix."""
from __future__ import annotations

from pathlib import Path

from orders_assets.core.store.outputs import is_local, local_path
from orders_assets.core.store.order_store import OrderStore


def folders_problem(landing: Path | str, data: Path | str, output_url: str | None = None) -> str | None:
    """Why a landing folder cannot be read beside this data folder and output location, or None.

    The runs write their own files under the data folder (staged rows, quarantine CSVs) and the
    output root (the published order sets, the reports): either of them inside the landing folder,
    or the same folder, would have the next run ingest them as order files, a security's orders
    counted once more each run. The landing folder inside a folder the runs write to is the same
    loop. A remote output root (s3://, gs://, memory://) is inside no local folder."""
    store = OrderStore(data, output_url)
    landing_path = Path(landing).resolve()
    if _within(store.root.resolve(), landing_path):
        return (f"the data folder {data} is inside the landing folder {landing}: the next run would read the "
                "project's own outputs as order files; put the data folder beside the landing folder")
    if is_local(store.output_root) and _within(local_path(store.output_root).resolve(), landing_path):
        return (f"the output folder {output_url} (output_url) is inside the landing folder {landing}: the next run "
                "would read the published order sets as order files, counting them again each run; set output_url "
                "to a folder beside the landing folder, or leave it empty to publish into the data folder")
    for folder in store.written_folders():
        if _within(landing_path, folder.resolve()):
            return (f"the landing folder {landing} is inside {folder}, where the runs write their own files: they "
                    "would be read as order files; move the landing folder out of the data and output folders' "
                    "orders, reports, staging, quarantine, aggregates and state")
    return None


def _within(path: Path, folder: Path) -> bool:
    """`path` is `folder` or under it (both resolved)."""
    return path == folder or folder in path.parents
